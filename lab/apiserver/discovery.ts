// Discovery as kube-apiserver serves it to legacy clients (kubectl falls back to these from aggregated
// discovery): /api, /apis, each group version's APIResourceList, /version, and OpenAPI documents that
// are valid and empty, so that kubectl's client-side validation finds no schema and skips (its default
// --validate works) and server-side fieldValidation is accepted.
import { apiVersionOf, groupVersions, RESOURCES, VERBS } from "./resources.js";

export const VERSION = { major: "1", minor: "32", gitVersion: "v1.32.0-weft", gitCommit: "0000000000000000000000000000000000000000", gitTreeState: "clean", buildDate: "2025-01-01T00:00:00Z", goVersion: "go1.23.4", compiler: "gc", platform: "linux/amd64" };

export function apiVersions(serverAddress: string): object {
  return { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }] };
}

function groupOf(group: string): object {
  const versions = groupVersions().filter((g) => g.group === group).map((g) => ({ groupVersion: `${g.group}/${g.version}`, version: g.version }));
  return { name: group, versions, preferredVersion: versions[0] };
}

export function apiGroupList(): object {
  const groups = [...new Set(groupVersions().map((g) => g.group).filter(Boolean))];
  return { kind: "APIGroupList", apiVersion: "v1", groups: groups.map(groupOf) };
}

export function apiGroup(group: string): object | undefined {
  return groupVersions().some((g) => g.group === group) ? { kind: "APIGroup", apiVersion: "v1", ...groupOf(group) } : undefined;
}

export function apiResourceList(group: string, version: string): object | undefined {
  const mine = RESOURCES.filter((r) => r.group === group && r.version === version);
  if (mine.length === 0) return undefined;
  const resources = mine.flatMap((r) => [
    { name: r.resource, singularName: r.singular, namespaced: r.namespaced, kind: r.kind, verbs: VERBS, ...(r.shortNames.length ? { shortNames: r.shortNames } : {}), ...(r.categories.length ? { categories: r.categories } : {}), storageVersionHash: "" },
    ...r.subresources.map((sub) =>
      sub === "binding"
        ? { name: `${r.resource}/binding`, singularName: "", namespaced: true, group: "", version: "v1", kind: "Binding", verbs: ["create"] }
        : { name: `${r.resource}/${sub}`, singularName: "", namespaced: r.namespaced, kind: r.kind, verbs: ["get", "patch", "update"] },
    ),
  ]);
  return { kind: "APIResourceList", apiVersion: "v1", groupVersion: apiVersionOf(mine[0] as (typeof mine)[0]), resources };
}

/**
 * OpenAPI v2 as protobuf (gnostic's Document: field 1 swagger = "2.0", field 2 info {title, version}),
 * what kubectl asks for; with no definitions kubectl's validation and patch lookups fall back to their
 * own types.
 */
export function openApiV2Protobuf(): Buffer {
  const str = (field: number, s: string): Buffer => Buffer.concat([Buffer.from([(field << 3) | 2, Buffer.byteLength(s)]), Buffer.from(s)]);
  const info = Buffer.concat([str(1, "weft-lab"), str(2, VERSION.gitVersion)]);
  return Buffer.concat([str(1, "2.0"), Buffer.from([(2 << 3) | 2, info.length]), info]);
}

export const openApiV2Json = (): object => ({ swagger: "2.0", info: { title: "weft-lab", version: VERSION.gitVersion }, paths: {}, definitions: {} });
