// Label selectors (equality- and set-based, as labels.Parse reads them) and field selectors
// (metadata.name, metadata.namespace, spec.nodeName, status.phase, …; = == !=).
import { badRequest } from "./errors.js";
import { valueAt, type KubeObject } from "./objects.js";

type Requirement = (labels: Record<string, string>) => boolean;
export type Selector = (obj: KubeObject) => boolean;

/** Splits on commas outside parentheses: "a in (x,y),b" → ["a in (x,y)", "b"]. */
function splitTerms(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of s) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      out.push(cur.trim());
      cur = "";
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

function parseRequirement(term: string): Requirement {
  let m = /^(!?)\s*([A-Za-z0-9._/-]+)$/.exec(term);
  if (m) {
    const [, not, key = ""] = m;
    return not ? (l) => !(key in l) : (l) => key in l;
  }
  m = /^([A-Za-z0-9._/-]+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(term);
  if (m) {
    const [, key = "", op, list = ""] = m;
    const values = new Set(list.split(",").map((v) => v.trim()));
    return op === "in" ? (l) => key in l && values.has(l[key] ?? "") : (l) => !(key in l) || !values.has(l[key] ?? "");
  }
  m = /^([A-Za-z0-9._/-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)$/.exec(term);
  if (m) {
    const [, key = "", op, value = ""] = m;
    return op === "!=" ? (l) => l[key] !== value : (l) => l[key] === value;
  }
  throw badRequest(`unable to parse requirement: found '${term}', expected: in, notin, =, ==, !=, gt, lt`);
}

export function parseLabelSelector(s: string | null): Selector {
  if (!s) return () => true;
  const reqs = splitTerms(s).map(parseRequirement);
  return (obj) => reqs.every((r) => r(obj.metadata.labels ?? {}));
}

const FIELDS = new Set(["metadata.name", "metadata.namespace", "spec.nodeName", "status.phase", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName", "status.podIP", "spec.clusterIP", "spec.type", "type", "spec.unschedulable"]);

export function parseFieldSelector(s: string | null): Selector {
  if (!s) return () => true;
  const reqs = splitTerms(s).map((term) => {
    const m = /^([A-Za-z.]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid selector: '${s}'; can't understand '${term}'`);
    const [, field = "", op, value = ""] = m;
    if (!FIELDS.has(field)) throw badRequest(`field label not supported: ${field}`);
    const get = (o: KubeObject): string => String(valueAt(o, field) ?? "");
    return op === "!=" ? (o: KubeObject) => get(o) !== value : (o: KubeObject) => get(o) === value;
  });
  return (obj) => reqs.every((r) => r(obj));
}
