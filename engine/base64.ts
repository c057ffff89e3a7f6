// Base64 for bytes, with the atob/btoa every runtime has (no Buffer): the embedded kernel module and
// the checkpoints' weight arrays.

/** The bytes a base64 string encodes. */
export function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Base64 of `bytes` (a view's own bytes only), built in 32 KiB chunks to keep argument lists short. */
export function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
