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
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { ConfigStore } from '../config.ts';
import { Credentials } from '../credentials.ts';
import { TermgateError, errorResponse } from '../errors.ts';
import { Gate, type Mode, interfaceHostsCache, modeForBindHost, pathOf } from '../gate.ts';
import type { FetchHandler, RuntimeName } from '../platform.ts';
import { VERSION } from '../version.ts';
import { ApiClient } from './api-client.ts';
import { TOOLS, callTool } from './tools.ts';

export const MCP_PATH = '/mcp';

/**
 * SSE keep-alive comments on a long tool call: below Bun's serve() default
 * 10 s idle timeout, which would otherwise cut a run_command that takes longer.
 */
const KEEP_ALIVE_MS = 5000;

const INSTRUCTIONS = `termgate gives you real terminals (PTYs) on the user's machine.
Typical use: create_terminal, then run_command as often as needed (output + exit code), then close_terminal.
For interactive programs (editors, REPLs, prompts): send_input, then read_output with since = the previous answer's next.
list_terminals shows what is already open, including terminals the user or other agents created.`;

export interface McpSidecarOptions {
  config: ConfigStore;
  runtime: RuntimeName;
  /** The address the sidecar binds: its mode (local or exposed) follows it, as the API's does. */
  bindHost: string;
  /** --api-url / TERMGATE_API_URL; default http://127.0.0.1:<config apiPort>. */
  apiUrl?: string | undefined;
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
      interfaceHosts,
    }));
    this.api = new ApiClient({
      config: options.config,
      apiUrl: options.apiUrl,
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
      if (verdict instanceof Response) return verdict;
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
    server.setRequestHandler(CallToolRequestSchema, (call) => callTool(this.api, call.params.name, call.params.arguments));
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
