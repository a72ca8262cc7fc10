/**
 * The rule table cites what each rule really corresponds to, checked against the scanners' own
 * sources (test/fixtures/scanner-rules.json, extracted from bridgecrewio/checkov, aquasecurity/trivy-checks
 * and Checkmarx/kics at the commits it names): every id exists in the framework it is cited under,
 * a Checkov Terraform check judges one of the resource types the rule judges, and its name is about
 * the rule's demand.
 */
import vendored from "./fixtures/scanner-rules.json";
import { POLICY_RULES } from "../constructs/policy";

type Checkov = { name: string; file: string; resources?: string[] };
const checkovTf = vendored.checkovTerraform.rules as Record<string, Checkov>;
const checkovK8s = vendored.checkovKubernetes.rules as Record<string, Checkov>;
const trivy = vendored.trivy.rules as Record<string, { id: string; title: string; reads: string }>;
const kics = vendored.kics.rules as Record<string, { queryName: string; platform: string; path: string; commit: string }>;

/** What each rule demands, as words the cited checks' own names must use. */
const DEMAND: Record<string, RegExp> = {
  "MS-EKS-1": /public/i,
  "MS-EKS-2": /encrypt/i,
  "MS-EKS-3": /log/i,
  "MS-EKS-4": /version/i,
  "MS-EKS-5": /public/i,
  "MS-NODE-1": /metadata|IMDS|session tokens|hop/i,
  "MS-NODE-2": /encrypt|unencrypted/i,
  "MS-NODE-3": /SSH|remote access/i,
  "MS-NET-1": /flow ?log/i,
  "MS-NET-2": /default security group/i,
  "MS-NET-3": /public IP/i,
  "MS-KMS-1": /KMS|key|CMK/i,
  "MS-LOG-1": /Log Group|log groups|CloudWatch/i,
  "MS-LOG-2": /retain|retention/i,
  "MS-S3-1": /public|encrypt|versioning|Public Access|versioned|bucket/i,
  "MS-S3-2": /lifecycle|aborting/i,
  "MS-S3-3": /logging/i,
  "MS-S3-4": /replication/i,
  "MS-S3-5": /notification/i,
  "MS-IAM-1": /\*|full|wildcard|privileges|permissions|privilege escalation|credentials exposure|data exfiltration|write access/i,
  "MS-POD-1": /root|privilege|capabilit|seccomp|NET_RAW|elevate/i,
  "MS-POD-2": /privileged|host/i,
  "MS-POD-3": /read-only|read only/i,
  "MS-POD-4": /CPU|Memory|limit|request/i,
  "MS-POD-5": /Probe/i,
  "MS-POD-6": /tag|latest|image/i,
  "MS-IMG-1": /digest/i,
  "MS-IMG-2": /pull policy/i,
  "MS-POD-7": /service account token|Automount/i,
  "MS-POD-8": /secret/i,
  "MS-K8S-1": /default namespace/i,
  "MS-K8S-2": /PodDisruptionBudget/i,
  "MS-K8S-3": /load balancer|NodePort/i,
};

test("the vendored lists name their sources and commits", () => {
  for (const section of [vendored.checkovTerraform, vendored.checkovKubernetes, vendored.trivy]) expect(section.source).toMatch(/^[\w-]+\/[\w-]+@[0-9a-f]{40}$/);
  for (const q of Object.values(kics)) expect(q.commit).toMatch(/^[0-9a-f]{40}$/);
  expect(Object.keys(checkovTf).length).toBeGreaterThan(400);
  expect(Object.keys(trivy).length).toBeGreaterThan(300);
});

test("every rule has a demand to check its citations against", () => {
  expect(Object.keys(DEMAND).sort()).toEqual(POLICY_RULES.map((r) => r.id).sort());
});

describe.each(POLICY_RULES.map((r) => [r.id, r] as const))("%s", (_id, rule) => {
  const judged = rule.judges.map((t) => t.replace(/^data\./, ""));

  test("cites Checkov Terraform checks that exist, judge one of its resource types and are about its demand", () => {
    for (const id of rule.references.checkovTerraform) {
      const c = checkovTf[id];
      expect([id, c?.file]).toEqual([id, expect.any(String)]);
      expect([id, c.resources!.some((r) => judged.includes(r))]).toEqual([id, true]);
      expect([id, c.name]).toEqual([id, expect.stringMatching(DEMAND[rule.id])]);
    }
  });

  test("cites Checkov Kubernetes-manifest checks only where no Terraform check exists", () => {
    for (const id of rule.references.checkovKubernetes) {
      expect([id, checkovK8s[id]?.name]).toEqual([id, expect.stringMatching(DEMAND[rule.id])]);
      expect([id, id in checkovTf]).toEqual([id, false]);
    }
  });

  test("cites Trivy checks that exist, for the input they read (AWS checks read Terraform, KSV checks manifests)", () => {
    for (const id of rule.references.trivy) {
      expect([id, trivy[id]?.title]).toEqual([id, expect.any(String)]);
      expect([id, trivy[id].reads]).toEqual([id, id.startsWith("AVD-KSV-") ? "Kubernetes manifests" : "Terraform (cloud state)"]);
    }
  });

  test("cites KICS Terraform queries that exist and are about its demand", () => {
    for (const id of rule.references.kics) {
      expect([id, kics[id]?.platform]).toEqual([id, "Terraform"]);
      expect([id, kics[id].queryName]).toEqual([id, expect.stringMatching(DEMAND[rule.id])]);
    }
  });
});

test("the ids the issue found miscited are cited right: CKV_AWS_46 is about EC2 user data, CKV_K8S_23/31/38 exist only for manifests", () => {
  expect(checkovTf.CKV_AWS_46.name).toMatch(/user data/);
  expect(POLICY_RULES.some((r) => r.references.checkovTerraform.includes("CKV_AWS_46"))).toBe(false);
  for (const id of ["CKV_K8S_23", "CKV_K8S_31", "CKV_K8S_38"]) {
    expect(id in checkovTf).toBe(false);
    expect(id in checkovK8s).toBe(true);
    expect(POLICY_RULES.some((r) => r.references.checkovTerraform.includes(id))).toBe(false);
  }
});
