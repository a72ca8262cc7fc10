/**
 * Pod Security "restricted" settings every pod the library runs shares: one definition, so the
 * endpoints, the staging Jobs, the smoke tests and multi-node groups cannot drift apart.
 * The vLLM image declares no USER, so pods pick a non-root UID and keep caches on writable emptyDirs.
 */
export const POD_UID = 1000;

const uid = String(POD_UID);

/** Container securityContext, as the Kubernetes provider's typed bindings take it (ids as strings). */
export const RESTRICTED_CONTAINER = {
  runAsNonRoot: true,
  runAsUser: uid,
  runAsGroup: uid,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

/** Pod securityContext, typed-binding form; fsGroup makes the emptyDir volumes writable for POD_UID. */
export const RESTRICTED_POD = { runAsNonRoot: true, runAsUser: uid, runAsGroup: uid, fsGroup: uid, seccompProfile: { type: "RuntimeDefault" } };

/** The same two, as raw Kubernetes objects (numeric ids) for kubernetes_manifest. */
export const RAW_RESTRICTED_CONTAINER = { ...RESTRICTED_CONTAINER, runAsUser: POD_UID, runAsGroup: POD_UID };
export const RAW_RESTRICTED_POD = { ...RESTRICTED_POD, runAsUser: POD_UID, runAsGroup: POD_UID, fsGroup: POD_UID };
