/**
 * The add-on catalog: pinned, sourced charts whose CRDs cover every custom resource the library
 * emits, and whose values agree with the builders that depend on them.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ADDONS, addonInstallingCrd, findAddon } from "../catalog/addons";
import { helmValues } from "../constructs/manifests/addons";
import { CONSUMER_HEADER, CONSUMER_METRIC_LABEL, ENDPOINT_PICKER_IMAGE, RATE_LIMIT_REDIS, rateLimitRedisUrl } from "../constructs/manifests/gateway";
import { RATE_LIMIT_REDIS_IMAGE } from "../catalog/addons";
import { vendoredKinds } from "./fixtures/crd-validator";

const crdIndex = JSON.parse(readFileSync(join(__dirname, "..", "catalog", "crds", "index.json"), "utf8")).crds as Array<{ group: string; kind: string; versions: string[]; source: { repo: string; tag: string; commit: string } }>;

describe("the add-on catalog", () => {
  test("installs every add-on the deploy needs, each by an exact chart version", () => {
    expect(ADDONS.map((a) => a.name).sort()).toEqual(["ai-gateway", "ai-gateway-crds", "aws-efa-k8s-device-plugin", "aws-load-balancer-controller", "cluster-autoscaler", "envoy-gateway", "external-secrets", "inference-extension-crds", "keda", "lws", "nvidia-device-plugin", "prometheus"]);
    for (const a of ADDONS) expect(a.chart.version).toMatch(/^v?\d+\.\d+\.\d+$/);
  });

  test("has a chart that installs the CRD of every custom resource the library emits", () => {
    for (const kind of vendoredKinds()) {
      const [group, k] = [kind.slice(0, kind.lastIndexOf("/")), kind.slice(kind.lastIndexOf("/") + 1)];
      const addon = addonInstallingCrd(group, k);
      expect({ kind, addon: addon?.name ?? "none" }).toEqual({ kind, addon: expect.not.stringMatching(/^none$/) });
      const vendored = crdIndex.find((c) => c.group === group && c.kind === k)!;
      // The schema the tests validate against is the one that chart serves.
      expect(addon!.crds.find((c) => c.group === group && c.kind === k)!.versions).toEqual(expect.arrayContaining(vendored.versions));
    }
  });

  test("vendored schemas come from the same release the catalog pins", () => {
    const pinned = (name: string) => findAddon(name)!.source;
    const bySource = (kind: string) => crdIndex.find((c) => c.kind === kind)!.source;
    expect(bySource("EnvoyProxy").commit).toBe(pinned("envoy-gateway").commit);
    expect(bySource("HTTPRoute").commit).toBe(pinned("envoy-gateway").commit);
    expect(bySource("AIGatewayRoute").commit).toBe(pinned("ai-gateway-crds").commit);
    expect(bySource("InferencePool").commit).toBe(pinned("inference-extension-crds").commit);
    expect(bySource("ExternalSecret").tag).toBe(pinned("external-secrets").tag);
    expect(bySource("LeaderWorkerSet").commit).toBe(pinned("lws").commit);
    expect(bySource("ScaledObject").tag).toBe(pinned("keda").tag);
  });

  test("pins the Cluster Autoscaler image to the cluster's minor version", () => {
    expect((helmValues("cluster-autoscaler", { clusterName: "c", region: "us-east-1", kubernetesVersion: "1.33" }).image as { tag: string }).tag).toBe("v1.33.6");
    expect(() => helmValues("cluster-autoscaler", { clusterName: "c", region: "us-east-1", kubernetesVersion: "1.29" })).toThrow(/\[ADDON_KUBERNETES_UNSUPPORTED\] addons\/cluster-autoscaler: cluster-autoscaler has no pinned image for Kubernetes 1\.29/);
  });

  test("fills the cluster's facts into the reviewed values and refuses a missing one", () => {
    expect(helmValues("aws-load-balancer-controller", { clusterName: "c", region: "us-east-1", kubernetesVersion: "1.33", vpcId: "vpc-0abc" })).toMatchObject({ clusterName: "c", region: "us-east-1", vpcId: "vpc-0abc" });
    expect(() => helmValues("aws-load-balancer-controller", { clusterName: "c", region: "us-east-1", kubernetesVersion: "1.33" })).toThrow(/\[ADDON_VALUE_MISSING\]/);
  });

  test("agrees with the gateway builders on the consumer metric label, the Redis URL and the images", () => {
    expect((findAddon("ai-gateway")!.values.controller as Record<string, string>).metricsRequestHeaderAttributes).toBe(`${CONSUMER_HEADER}:${CONSUMER_METRIC_LABEL}`);
    const eg = helmValues("envoy-gateway", { clusterName: "c", region: "us-east-1", kubernetesVersion: "1.33" }) as any;
    expect(eg.config.envoyGateway.rateLimit.backend.redis.url).toBe(rateLimitRedisUrl());
    expect(RATE_LIMIT_REDIS_IMAGE.image.image).toBe(RATE_LIMIT_REDIS.image);
    expect(findAddon("inference-extension-crds")!.images.map((i) => i.image)).toEqual([ENDPOINT_PICKER_IMAGE]);
  });

  test("grants the External Secrets Operator only declared secret ARNs, and Cluster Autoscaler writes only on this cluster's groups", () => {
    expect(findAddon("external-secrets")!.iam!.statements![0].resources).toEqual(["${declaredSecretArns}"]);
    const write = findAddon("cluster-autoscaler")!.iam!.statements!.find((s) => s.actions.includes("autoscaling:SetDesiredCapacity"))!;
    expect(write.condition).toEqual({ test: "StringEquals", variable: "aws:ResourceTag/k8s.io/cluster-autoscaler/${clusterName}", values: ["owned"] });
    const lbc = JSON.parse(readFileSync(join(__dirname, "..", findAddon("aws-load-balancer-controller")!.iam!.policyDocument!), "utf8"));
    expect(lbc.Statement.some((s: any) => ([] as string[]).concat(s.Action).includes("elasticloadbalancing:CreateLoadBalancer"))).toBe(true);
  });
});
