/**
 * planner/names.ts: every name the library emits is derived and checked against its API's rule in
 * one place. Properties over random input: derived names are always valid, stable, and distinct for
 * distinct inputs; suggestions are valid and never one already taken.
 */
import fc from "fast-check";
import { deriveName, isValidName, labelValueOf, maxLeaderWorkerSetNameLength, nameProblem, NAME_RULES, shortHash, suggestName, type NameKind } from "../planner/names";

const KINDS = Object.keys(NAME_RULES) as NameKind[];

describe("name rules, checked against the API's own examples", () => {
  // Valid and invalid examples as the Kubernetes and AWS documentation give them.
  const cases: Array<[NameKind, string, boolean]> = [
    ["dns1123Label", "model-serving", true],
    ["dns1123Label", "Model_Serving", false],
    ["dns1123Label", "a".repeat(63), true],
    ["dns1123Label", "a".repeat(64), false],
    ["dns1123Label", "-lead", false],
    ["dns1123Label", "9-lives", true],
    ["dns1035Label", "9-lives", false],
    ["dns1035Label", "llama-chat", true],
    ["dns1123Subdomain", "hf-token.v2", true],
    ["dns1123Subdomain", "a.-b", false],
    ["labelValue", "Qwen2.5-7B_Instruct", true],
    ["labelValue", "", true],
    ["labelValue", "meta-llama/Llama", false],
    ["jobName", "stage-llama", true],
    ["jobName", "x".repeat(64), false],
    ["iamRoleName", "serving-cluster+role@x", true],
    ["iamRoleName", "r".repeat(65), false],
    ["iamPolicyName", "p".repeat(128), true],
    ["eksClusterName", "prod_cluster-1", true],
    ["eksClusterName", "_prod", false],
    ["eksClusterName", "c".repeat(101), false],
    ["eksNodeGroupName", "a10-x1-spot", true],
    ["s3BucketName", "acme-models", true],
    ["s3BucketName", "Bucket_Name", false],
    ["s3BucketName", "ab", false],
    ["s3BucketName", "192.168.5.4", false],
    ["s3BucketName", "xn--models", false],
    ["s3BucketName", "sthree-models", false],
    ["s3BucketName", "models-s3alias", false],
    ["s3BucketName", "models--ol-s3", false],
    ["s3BucketName", "a..b", false],
    ["s3BucketPrefix", "b".repeat(38), false],
    ["logGroupName", "/aws/eks/prod/cluster", true],
    ["logGroupName", "/aws/eks/pr od/cluster", false],
    ["launchTemplatePrefix", "prod-a10-x1-", true],
  ];
  test.each(cases)("%s %j is %s", (kind, name, valid) => {
    expect(isValidName(kind, name)).toBe(valid);
  });

  test("says what is wrong in words: the space, the uppercase letters, the length, the reserved suffix", () => {
    expect(nameProblem("dns1123Label", " serving")).toBe("it has a space at the start");
    expect(nameProblem("dns1123Label", "Model_Serving")).toMatch(/uppercase/);
    expect(nameProblem("dns1123Label", "model_serving")).toBe('it contains "_", which is not allowed');
    expect(nameProblem("jobName", "j".repeat(70))).toBe("it has 70 characters; at most 63 are allowed");
    expect(nameProblem("s3BucketName", "models-s3alias")).toBe('it ends with the reserved suffix "-s3alias"');
  });
});

describe("deriveName", () => {
  test("keeps a name that is already valid, so ordinary names stay readable", () => {
    expect(deriveName("jobName", ["stage", "llama-chat"])).toBe("stage-llama-chat");
    expect(deriveName("iamRoleName", ["prod", "cluster"])).toBe("prod-cluster");
  });

  test("gives a name that had to change a hash of the input: Llama_Chat and llama-chat stay apart", () => {
    const a = deriveName("jobName", ["stage", "Llama_Chat"]);
    const b = deriveName("jobName", ["stage", "llama-chat"]);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^stage-llama-chat-[a-z0-9]{6}$/);
  });

  test("two long inputs that share their first 57 characters get different names within the limit", () => {
    const shared = "m".repeat(57);
    const a = deriveName("jobName", ["stage", `${shared}-a`]);
    const b = deriveName("jobName", ["stage", `${shared}-b`]);
    expect(a).not.toBe(b);
    for (const n of [a, b]) expect(n.length).toBeLessThanOrEqual(63);
  });

  test("honours a tighter limit (room left for a suffix the library adds)", () => {
    expect(deriveName("dns1035Label", ["e".repeat(60)], { maxLength: 40 }).length).toBeLessThanOrEqual(40);
  });

  test("property: for every kind and any input, the derived name is valid, stable and injective", () => {
    fc.assert(
      fc.property(fc.constantFrom(...KINDS), fc.string({ maxLength: 140 }), fc.string({ maxLength: 140 }), (kind, x, y) => {
        const dx = deriveName(kind, [x]);
        expect(isValidName(kind, dx)).toBe(true);
        expect(deriveName(kind, [x])).toBe(dx);
        if (x !== y && x !== "" && y !== "") {
          const dy = deriveName(kind, [y]);
          // Equal only when one input is literally the other's valid output, which the collision check catches.
          if (dx === dy) expect([x, y]).toContain(dx);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe("suggestName", () => {
  test("never points into a collision: Llama_Chat beside llama-chat is not told to use llama-chat", () => {
    const s = suggestName("dns1035Label", "Llama_Chat", ["llama-chat"]);
    expect(s).not.toBe("llama-chat");
    expect(isValidName("dns1035Label", s)).toBe(true);
  });

  test("two long ids get different suggestions", () => {
    const a = suggestName("dns1035Label", `${"very-long-endpoint-name-".repeat(3)}alpha`);
    const b = suggestName("dns1035Label", `${"very-long-endpoint-name-".repeat(3)}beta`);
    expect(a).not.toBe(b);
  });

  test("property: a suggestion is valid and not taken, whatever is taken", () => {
    fc.assert(
      fc.property(fc.constantFrom<NameKind>("dns1035Label", "dns1123Label", "jobName", "iamRoleName", "s3BucketName"), fc.string({ minLength: 1, maxLength: 90 }), fc.array(fc.string({ maxLength: 70 }), { maxLength: 5 }), (kind, raw, taken) => {
        const clean = raw.toLowerCase().replace(/[^a-z0-9-]/g, "-");
        const s = suggestName(kind, raw, [...taken, clean, deriveName(kind, [raw])]);
        expect(isValidName(kind, s)).toBe(true);
        expect([...taken, clean, deriveName(kind, [raw])]).not.toContain(s);
      }),
      { numRuns: 1000 },
    );
  });
});

test("a model id becomes a readable, valid label value, hashed only when it must be shortened", () => {
  expect(labelValueOf("Qwen2.5-7B-Instruct")).toBe("Qwen2.5-7B-Instruct");
  expect(labelValueOf("meta-llama/Llama-3.1-8B-Instruct")).toBe("meta-llama-Llama-3.1-8B-Instruct");
  const long = labelValueOf(`org/${"x".repeat(200)}`);
  expect(isValidName("labelValue", long)).toBe(true);
  expect(long).not.toBe(labelValueOf(`org/${"x".repeat(199)}y`));
});

test("shortHash is stable and distinguishes its inputs", () => {
  expect(shortHash("a")).toBe(shortHash("a"));
  expect(shortHash("a")).not.toBe(shortHash("b"));
  expect(shortHash("a", "b")).not.toBe(shortHash("ab"));
});

test("a LeaderWorkerSet name leaves room for the worker index and the revision hash (52 − 1 − index digits)", () => {
  expect(maxLeaderWorkerSetNameLength(1)).toBe(50);
  expect(maxLeaderWorkerSetNameLength(10)).toBe(50);
  expect(maxLeaderWorkerSetNameLength(11)).toBe(49);
});
