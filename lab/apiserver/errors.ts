// Errors as kube-apiserver writes them: a meta/v1 Status with code, reason, message and details, so
// that clients (kubectl's "Error from server (NotFound): …", client-go's IsConflict) read them as theirs.
import { qualifiedResource, type ResourceInfo } from "./resources.js";

export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
  }

  toStatus(): object {
    return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: this.message, reason: this.reason, ...(this.details ? { details: this.details } : {}), code: this.code };
  }
}

const detailsOf = (r: ResourceInfo, name: string): StatusDetails => ({ name, ...(r.group ? { group: r.group } : {}), kind: r.resource });

export const notFound = (r: ResourceInfo, name: string): ApiError => new ApiError(404, "NotFound", `${qualifiedResource(r)} "${name}" not found`, detailsOf(r, name));
export const namespaceNotFound = (name: string): ApiError => new ApiError(404, "NotFound", `namespaces "${name}" not found`, { name, kind: "namespaces" });
/** As the NamespaceLifecycle admission plugin refuses: nothing new goes into a namespace being deleted. */
export const namespaceTerminating = (r: { resource: string }, name: string, namespace: string): ApiError =>
  new ApiError(403, "Forbidden", `${r.resource} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`, { name, kind: r.resource });
export const alreadyExists = (r: ResourceInfo, name: string): ApiError => new ApiError(409, "AlreadyExists", `${qualifiedResource(r)} "${name}" already exists`, detailsOf(r, name));
export const conflict = (r: ResourceInfo, name: string, why = "the object has been modified; please apply your changes to the latest version and try again"): ApiError =>
  new ApiError(409, "Conflict", `Operation cannot be fulfilled on ${qualifiedResource(r)} "${name}": ${why}`, detailsOf(r, name));
export const expired = (message: string): ApiError => new ApiError(410, "Expired", message);
export const badRequest = (message: string): ApiError => new ApiError(400, "BadRequest", message);
export const unauthorized = (): ApiError => new ApiError(401, "Unauthorized", "Unauthorized");
export const methodNotSupported = (r: ResourceInfo | undefined, verb: string): ApiError => new ApiError(405, "MethodNotAllowed", `${verb} is not supported on resources of kind "${r ? qualifiedResource(r) : "unknown"}"`, r ? { kind: r.resource, ...(r.group ? { group: r.group } : {}) } : undefined);
export const unsupportedMediaType = (type: string): ApiError => new ApiError(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml${type ? `` : ""}`);
export const notFoundPath = (): ApiError => new ApiError(404, "NotFound", "the server could not find the requested resource");

/** 422, with the causes kubectl prints as `* spec.containers[0].image: Required value`. */
export function invalid(r: ResourceInfo, name: string, causes: StatusCause[]): ApiError {
  const list = causes.map((c) => `${c.field ? `${c.field}: ` : ""}${c.message}`);
  const message = `${r.kind} "${name}" is invalid: ${list.length === 1 ? list[0] : `[${list.join(", ")}]`}`;
  return new ApiError(422, "Invalid", message, { ...detailsOf(r, name), kind: r.kind, causes });
}

export const requiredValue = (field: string): StatusCause => ({ reason: "FieldValueRequired", message: "Required value", field });
export const invalidValue = (field: string, value: unknown, why: string): StatusCause => ({ reason: "FieldValueInvalid", message: `Invalid value: ${JSON.stringify(value)}: ${why}`, field });
export const unsupportedValue = (field: string, value: unknown, allowed: string[]): StatusCause => ({ reason: "FieldValueNotSupported", message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${allowed.map((a) => `"${a}"`).join(", ")}`, field });
