/** Container images the library runs besides vLLM (whose image comes from catalog/vllm/release.json). */
export const AWS_CLI_IMAGE = "public.ecr.aws/aws-cli/aws-cli:2.22.35";
export const NVIDIA_DEVICE_PLUGIN_IMAGE = "nvcr.io/nvidia/k8s-device-plugin:v0.17.0";
