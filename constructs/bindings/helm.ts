// Every Helm provider class the library uses, by deep path (see ./aws.ts for why).
export { HelmProvider } from "@cdktf/provider-helm/lib/provider";
export { Release } from "@cdktf/provider-helm/lib/release";
