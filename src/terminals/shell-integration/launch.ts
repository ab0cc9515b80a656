/**
 * How a shell is started with termgate's shell integration, as VS Code does
 * it: bash reads our init file instead of ~/.bashrc (and runs the user's files
 * from there), zsh gets a ZDOTDIR of ours whose files run the user's own, fish
 * runs our script with --init-command after its config. Each learns the
 * terminal's nonce from TERMGATE_SHELL_NONCE and removes it from its
 * environment, so the programs it starts do not inherit it.
 */
export type IntegratedShell = 'bash' | 'zsh' | 'fish';

/** The shell a command names, when it is one termgate can integrate with. */
export function integratedShell(command: string): IntegratedShell | null {
  const name = (command.split('/').pop() ?? command).replace(/^-/, '');
  return name === 'bash' || name === 'zsh' || name === 'fish' ? name : null;
}

export interface Launch {
  args: string[];
  env: Record<string, string>;
}

/**
 * The arguments and environment that start `shell` integrated, or null when
 * the caller's own arguments say something else (`--norc`, `-c …`, a
 * script): then the shell starts exactly as asked, without integration.
 * `dir` holds the files of scripts.generated.ts.
 */
export function integrationLaunch(shell: IntegratedShell, args: readonly string[], env: Record<string, string>, dir: string, nonce: string): Launch | null {
  const login = args.length === 1 && (args[0] === '-l' || args[0] === '--login');
  const interactive = args.length === 1 && args[0] === '-i';
  if (args.length > 0 && !login && !interactive) return null;
  const withNonce = { ...env, TERMGATE_SHELL_NONCE: nonce };
  switch (shell) {
    case 'bash':
      // --init-file replaces the startup files, so a login shell's are run by the script itself.
      return { args: ['--init-file', `${dir}/bash-init.sh`, '-i'], env: login ? { ...withNonce, TERMGATE_SHELL_LOGIN: '1' } : withNonce };
    case 'zsh': {
      const zshEnv: Record<string, string> = { ...withNonce, ZDOTDIR: `${dir}/zsh` };
      if (env.ZDOTDIR) zshEnv.TERMGATE_USER_ZDOTDIR = env.ZDOTDIR;
      return { args: [...args], env: zshEnv };
    }
    case 'fish':
      return { args: [...args, '--init-command', `source ${fishQuote(`${dir}/fish-init.fish`)}`], env: withNonce };
  }
}

function fishQuote(text: string): string {
  return `'${text.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}
