/** Bounds and defaults of terminal operations, in one place (the operation table and the manager read them). */
export const LIMITS = {
  maxCols: 1000,
  maxRows: 500,
  /** Long enough for builds, short enough that a forgotten run cannot pin a request for ever. */
  maxRunTimeoutMs: 600_000,
  /** Also the MCP default: below the 60 s request timeout most MCP clients use. */
  defaultRunTimeoutMs: 30_000,
  /** `wait`: as long as the longest run. */
  maxWaitTimeoutMs: 600_000,
  /** The largest maxBytes of a shaped answer (64 MiB: more than any scrollback). */
  maxShapeBytes: 64 * 1024 * 1024,
  /** The MCP tools' maxBytes when the call gives none: room in an agent's context. */
  mcpMaxBytes: 64 * 1024,
  defaultCols: 80,
  defaultRows: 24,
} as const;
