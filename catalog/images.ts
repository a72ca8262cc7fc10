/** Container images the library runs besides vLLM: pinned by digest, with the tag and where the digest was seen (catalog/images.json). */
import { z } from "zod";
import imagesJson from "./images.json";

const Image = z.object({
  name: z.string(),
  repository: z.string(),
  tag: z.string(),
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/).nullable(),
  digestSeen: z.string().min(1),
  digestKind: z.string(),
});
export type ImageSpec = z.infer<typeof Image>;

export const IMAGES: readonly ImageSpec[] = z.object({ capturedAt: z.string(), note: z.string(), images: z.array(Image) }).parse(imagesJson).images;

export function findImage(name: string): ImageSpec {
  const image = IMAGES.find((i) => i.name === name);
  if (!image) throw new Error(`catalog/images.json has no image "${name}"`);
  return image;
}
