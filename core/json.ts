/**
 * JSON values, for the few things recorded verbatim without being interpreted (an emulator's own
 * description of its configuration, a command's JSON output): typed as JSON, never as `unknown`
 * fished by key name.
 */
export type Json = string | number | boolean | null | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}
