/**
 * The MCP sidecar (docs/mcp.md): one web-standard `fetch` serving MCP over
 * Streamable HTTP at /mcp, a bridge to the terminals REST API.
 *
 * Stateless: every POST gets a fresh MCP Server and transport, and no session
 * id is handed out. The tools need nothing from one call to the next (the
 * terminals live in the API), so there is no session table to grow, expire or
 * lose on restart: a client keeps working across a sidecar restart, and any
 * number of clients can call at once. The price is that the server never
 * pushes (no GET stream; GET and DELETE answer 405, which clients expect from a
 * stateless server).
 *
 * It protects itself exactly as the API does (README: Security model), with the same Gate:
 * Host and Origin checks always, and a token when bound to a non-loopback
 * address (the API's authToken, TERMGATE_TOKEN or a named token). The config
 * file is re-read on every request, so a rotation or revocation made through
 * the API applies here at once too.
 */
// The SDK's wildcard export maps types to "<path>.js.d.ts", which tsc tolerates and
// `deno check` does not: @ts-types points Deno at the right declarations (tsc ignores it).
// @ts-types="@modelcontextprotocol/sdk/server"
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
// @ts-types="@modelcontextprotocol/sdk/server/webStandardStreamableHttp"
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
// @ts-types="@modelcontextprotocol/sdk/types"
import { ErrorCode, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { ConfigStore } from '../config.ts';
import { Credentials } from '../credentials.ts';
import { TermgateError, errorResponse } from '../errors.ts';
import { Gate, type Mode, interfaceHostsCache, modeForBindHost, pathOf } from '../gate.ts';
import type { FetchHandler, RuntimeName } from '../platform.ts';
import { VERSION } from '../version.ts';
import { ApiClient, type ApiFetch } from './api-client.ts';
import { TOOLS, callTool } from './tools.ts';

export const MCP_PATH = '/mcp';

/**
 * SSE keep-alive comments on a long tool call: below Bun's serve() default
 * 10 s idle timeout, which would otherwise cut a run_command that takes longer.
 */
const KEEP_ALIVE_MS = 5000;

const INSTRUCTIONS = `termgate gives you real terminals (PTYs) on the user's machine.
Typical use: create_terminal, then run_command as often as needed (output + exit code), then close_terminal.
For interactive programs (editors, REPLs, prompts): send_input or send_keys, then wait_for (a pattern such as the prompt, or idleMs) and read_output with since = the previous answer's next, or read_screen.
Text answers are shaped to maxBytes (default 64 KiB): head and tail with a line …[N bytes omitted]…; plain: true renders colours and progress bars away.
list_terminals shows what is already open, including terminals the user or other agents created.`;

export interface McpSidecarOptions {
  config: ConfigStore;
  runtime: RuntimeName;
  /** The address the sidecar binds: its mode (local or exposed) follows it, as the API's does. */
  bindHost: string;
  /** --api-url / TERMGATE_API_URL; default http://127.0.0.1:<config apiPort>. */
  apiUrl?: string | undefined;
  /** How to reach apiUrl (a Unix socket: `serve --unix`); default the runtime's fetch. */
  apiFetch?: ApiFetch | undefined;
  /** TERMGATE_TOKEN: the token for the API and the only main token this sidecar accepts. */
  envToken?: string | undefined;
  /** This machine's interface addresses (admitted as Host in exposed mode). */
  interfaceAddresses: () => string[];
  /** A line for the operator. Never given a secret. */
  log(line: string): void;
}

export class McpSidecar {
  readonly runtime: RuntimeName;
  readonly mode: Mode;
  readonly api: ApiClient;
  readonly credentials: Credentials;
  readonly gate: Gate;
  readonly #config: ConfigStore;
  readonly #log: (line: string) => void;
  /** One validator for every per-request server: building an Ajv instance per request would cost more than the request. */
  readonly #validator = new AjvJsonSchemaValidator();
  #reloading: Promise<void> | undefined;

  constructor(options: McpSidecarOptions) {
    this.runtime = options.runtime;
    this.mode = modeForBindHost(options.bindHost);
    this.#config = options.config;
    this.#log = options.log;
    this.credentials = new Credentials(options.config, options.envToken);
    const interfaceHosts = interfaceHostsCache(options.interfaceAddresses);
    this.gate = new Gate(this.credentials, () => ({
      mode: this.mode,
      allowedHosts: this.#config.current.allowedHosts,
      allowedOrigins: this.#config.current.allowedOrigins,
      requireToken: this.#config.current.requireToken,
      interfaceHosts,
    }));
    this.api = new ApiClient({
      config: options.config,
      apiUrl: options.apiUrl,
      fetch: options.apiFetch,
      envToken: options.envToken,
      reloadConfig: () => this.reloadConfig(),
    });
  }

  health() {
    return { status: 'ok', name: 'termgate-mcp', version: VERSION, runtime: this.runtime, mode: this.mode, api: this.api.baseUrl };
  }

  readonly fetch: FetchHandler = async (request) => {
    try {
      const path = pathOf(request.url);
      if (path === '/health' && (request.method === 'GET' || request.method === 'HEAD')) return Response.json(this.health());
      // The API process (or the CLI) may have rotated the token, revoked a named
      // token or changed allowedOrigins since the last request: re-read the file
      // first, so the gate decides on what the API would decide on.
      await this.reloadConfig();
      const verdict = await this.gate.check(request, path);
      if (verdict instanceof Response) return verdict.status === 401 ? unauthorized(verdict) : verdict;
      if (path !== MCP_PATH) return new TermgateError('not_found', `no such route; MCP is served at ${MCP_PATH}`).toResponse();
      if (request.method !== 'POST') {
        return new Response(
          JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed: this MCP server is stateless, use POST' }, id: null }),
          { status: 405, headers: { allow: 'POST', 'content-type': 'application/json' } },
        );
      }
      return await this.#handle(request);
    } catch (error) {
      this.#log(`mcp: ${String(error)}`);
      return errorResponse(error);
    }
  };

  async #handle(request: Request): Promise<Response> {
    // The tool list never changes while the sidecar runs, so no listChanged.
    const server = new Server(
      { name: 'termgate', title: 'termgate terminals', version: VERSION },
      { instructions: INSTRUCTIONS, jsonSchemaValidator: this.#validator, capabilities: { tools: {} } },
    );
    server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: [...TOOLS] }));
    // The API is called with the MCP client's own credential when it presented one (docs/security.md).
    const api = this.api.forClient(request.headers.get('authorization'));
    // tools/call without the SDK's own schema check, whose failure is a raw schema dump: its params are checked here, in sentences.
    server.fallbackRequestHandler = async (call) => {
      if (call.method !== 'tools/call') throw rpcError(ErrorCode.MethodNotFound, `Method not found: ${call.method}`);
      const { name, arguments: args } = callParams(call.params);
      return callTool(api, name, args);
    };
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      keepAliveMs: KEEP_ALIVE_MS,
      maxRequestBodySize: this.#config.current.limits.maxBodyBytes,
    });
    await server.connect(transport);
    return transport.handleRequest(request);
  }

  /** Re-reads the config file; concurrent callers share one read. A corrupt file keeps the last good config. */
  reloadConfig(): Promise<void> {
    this.#reloading ??= this.#config
      .reload()
      .then(
        () => undefined,
        (error: unknown) => this.#log(`keeping the config read earlier: ${error instanceof Error ? error.message : String(error)}`),
      )
      .finally(() => {
        this.#reloading = undefined;
      });
    return this.#reloading;
  }
}

/**
 * The gate's 401, in the sidecar's words: it takes the token only in the
 * Authorization header (Bearer, or Basic with the token as password), not the
 * WebSocket forms the API's message mentions.
 */
function unauthorized(verdict: Response): Response {
  const challenge = verdict.headers.get('www-authenticate');
  return new TermgateError(
    'unauthorized',
    'a valid token is required (the sidecar is exposed or runs with --require-token): send "Authorization: Bearer <token>" ' +
      "with the API's token or a named tg_… token",
    challenge === null ? [] : [['WWW-Authenticate', challenge]],
  ).toResponse();
}

/** A JSON-RPC error the SDK sends as it is (McpError would prefix "MCP error -32602: " to the sentence). */
function rpcError(code: number, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** tools/call's params, or -32602 with a sentence naming what is wrong. */
function callParams(params: unknown): { name: string; arguments: Record<string, unknown> | undefined } {
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    throw rpcError(ErrorCode.InvalidParams, 'params: tools/call needs an object {"name": <tool>, "arguments": {…}}');
  }
  const { name, arguments: args } = params as { name?: unknown; arguments?: unknown };
  if (typeof name !== 'string' || name === '') throw rpcError(ErrorCode.InvalidParams, 'name: the tool to call, a string (tools/list names them)');
  if (args !== undefined && (typeof args !== 'object' || args === null || Array.isArray(args))) {
    const kind = Array.isArray(args) ? 'an array' : args === null ? 'null' : `a ${typeof args}`;
    throw rpcError(ErrorCode.InvalidParams, `arguments: must be an object of the tool's parameters by name, e.g. {"terminalId": "…"}, not ${kind}`);
  }
  return { name, arguments: args as Record<string, unknown> | undefined };
}
