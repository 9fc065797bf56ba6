// Label selectors as metav1.LabelSelector defines them, and their canonical text: the same selector
// written twice (keys in another order, values reordered) gets one text, so it gets one nft set.
import type { LabelSelector, LabelSelectorRequirement } from "./types.js";

function requirementMatches(r: LabelSelectorRequirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const values = r.values ?? [];
  switch (r.operator) {
    case "In":
      return has && values.includes(labels[r.key] as string);
    case "NotIn":
      // A pod without the key is "not in" any value set, as Kubernetes reads it.
      return !has || !values.includes(labels[r.key] as string);
    case "Exists":
      return has;
    case "DoesNotExist":
      return !has;
  }
}

/** An empty selector ({}) selects everything; the requirements are ANDed. */
export function selectorMatches(selector: LabelSelector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  return (selector.matchExpressions ?? []).every((r) => requirementMatches(r, labels));
}

export function selectorIsEmpty(selector: LabelSelector): boolean {
  return Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0;
}

/** kubectl's way of writing a selector ("pod=a,ns in (x,y),!gone"), sorted so equal selectors read the same. */
export function selectorText(selector: LabelSelector): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) parts.push(`${k}=${v}`);
  for (const r of selector.matchExpressions ?? []) {
    const values = [...(r.values ?? [])].sort().join(",");
    if (r.operator === "In") parts.push(`${r.key} in (${values})`);
    else if (r.operator === "NotIn") parts.push(`${r.key} notin (${values})`);
    else if (r.operator === "Exists") parts.push(r.key);
    else parts.push(`!${r.key}`);
  }
  return parts.length === 0 ? "<all>" : [...new Set(parts)].sort().join(",");
}
