// How each list of the lab's kinds merges, as the Go types' patchStrategy/patchMergeKey tags (and
// listType/listMapKeys for server-side apply) say: a list of maps keyed by a field, a set of
// primitives, or atomic (replaced whole). Strategic merge patch and server-side apply read this table.
/** `applyKeys`: server-side apply's listMapKeys where they are more than the patch merge key (ports: number and protocol). */
export type ListStrategy = { type: "map"; key: string; applyKeys?: string[] } | { type: "set" } | { type: "atomic" };

const BY_FIELD: Record<string, ListStrategy> = {
  containers: { type: "map", key: "name" },
  initContainers: { type: "map", key: "name" },
  ephemeralContainers: { type: "map", key: "name" },
  env: { type: "map", key: "name" },
  volumes: { type: "map", key: "name" },
  volumeMounts: { type: "map", key: "mountPath" },
  volumeDevices: { type: "map", key: "devicePath" },
  conditions: { type: "map", key: "type" },
  finalizers: { type: "set" },
  ownerReferences: { type: "map", key: "uid" },
  imagePullSecrets: { type: "map", key: "name" },
  hostAliases: { type: "map", key: "ip" },
  taints: { type: "map", key: "key" },
  topologySpreadConstraints: { type: "map", key: "topologyKey" },
  resourceClaims: { type: "map", key: "name" },
  containerStatuses: { type: "atomic" },
};

const CONTAINER_LISTS = new Set(["containers", "initContainers", "ephemeralContainers"]);

/** `path`: the field names from the object's root to the list (list indices left out). */
export function listStrategy(kind: string, path: string[]): ListStrategy {
  const field = path[path.length - 1] ?? "";
  if (field === "ports") {
    // Ports of one number over TCP, UDP and SCTP are three entries to apply (strategic merge keys them by number alone, as kube does).
    if (CONTAINER_LISTS.has(path[path.length - 2] ?? "")) return { type: "map", key: "containerPort", applyKeys: ["containerPort", "protocol"] };
    if (kind === "Service" && path.length === 2 && path[0] === "spec") return { type: "map", key: "port", applyKeys: ["port", "protocol"] };
    return { type: "atomic" };
  }
  // Node addresses merge by type; an EndpointSlice's endpoint addresses are a plain list.
  if (field === "addresses" && kind === "Node") return { type: "map", key: "type" };
  return BY_FIELD[field] ?? { type: "atomic" };
}

/** Maps whose keys are data (labels, selectors): SSA owns each key, and its fieldsV1 marks the map itself. */
const GRANULAR_MAPS = new Set(["labels", "annotations", "matchLabels", "data", "stringData", "binaryData", "nodeSelector", "limits", "requests", "capacity", "allocatable"]);

export function isGranularMap(kind: string, path: string[]): boolean {
  const field = path[path.length - 1] ?? "";
  if (field === "selector") return kind === "Service" || kind === "ReplicationController";
  return GRANULAR_MAPS.has(field);
}

/** An element's identity for server-side apply: its listMapKeys' values, a port's protocol defaulted to TCP as the API defaults it. */
export function applyKeyOf(s: { key: string; applyKeys?: string[] }, item: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries((s.applyKeys ?? [s.key]).map((k) => [k, k === "protocol" ? (item[k] ?? "TCP") : item[k]]));
}
