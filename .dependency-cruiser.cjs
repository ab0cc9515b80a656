/**
 * The import rules `npm test` enforces (dependency-cruiser): no cycles, a core
 * that imports no runtime, runtime folders that do not reach into each other.
 */
module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', comment: 'An import cycle (type-only imports count too).', from: {}, to: { circular: true } },
    {
      name: 'core-imports-no-runtime',
      severity: 'error',
      comment: 'src/ is the core: web-standard APIs only, no node:*, Bun or Deno, nothing from runtimes/.',
      from: { path: '^src/' },
      to: { path: ['^runtimes/', '^node:', '^bun$', '^bun:'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'core-imports-no-node-builtins',
      severity: 'error',
      from: { path: '^src/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'runtimes-stay-apart',
      severity: 'error',
      comment: 'A runtime folder uses the shared runtime code and the core, not another runtime (Node wiring is not Bun wiring).',
      from: { path: '^runtimes/(bun|deno)/' },
      to: { path: '^runtimes/(node|bun|deno)/', pathNot: '^runtimes/$1/' },
    },
    // `bun` is Bun's built-in module (its types come from bun-types).
    { name: 'no-unresolvable', severity: 'error', from: {}, to: { couldNotResolve: true, pathNot: '^bun$' } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['^src/ui/page/', 'assets\\.generated\\.ts$'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      extensions: ['.ts', '.js', '.mjs'],
      exportsFields: ['exports'],
      conditionNames: ['import', 'types', 'default'],
    },
  },
};
