# termgate shell integration for bash, read through `bash --init-file` instead of
# ~/.bashrc: the user's startup files run first, as bash would run them, then the
# hooks below report each prompt and command in OSC 133 / OSC 7 sequences
# (docs/terminals.md: Shell integration). PS0 and PROMPT_COMMAND carry the hooks,
# so the user's own PROMPT_COMMAND, PS0 and DEBUG trap keep working.
__tg_nonce=${TERMGATE_SHELL_NONCE-}
unset TERMGATE_SHELL_NONCE
if [ -n "$TERMGATE_SHELL_LOGIN" ]; then
  unset TERMGATE_SHELL_LOGIN
  [ -r /etc/profile ] && . /etc/profile
  if [ -r ~/.bash_profile ]; then . ~/.bash_profile
  elif [ -r ~/.bash_login ]; then . ~/.bash_login
  elif [ -r ~/.profile ]; then . ~/.profile
  fi
else
  [ -r /etc/bash.bashrc ] && . /etc/bash.bashrc
  [ -r ~/.bashrc ] && . ~/.bashrc
fi
# PS0 (where a command's start is told) came with bash 4.4: older ones keep run's marker method.
if [ -n "$__tg_nonce" ] && [ -z "${__tg_installed-}" ] && (( BASH_VERSINFO[0] > 4 || (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] >= 4) )); then
  __tg_installed=1
  case ":${HISTCONTROL-}:" in *:ignorespace:*|*:ignoreboth:*) ;; *) HISTCONTROL="${HISTCONTROL:+$HISTCONTROL:}ignorespace" ;; esac
  # Escapes into the variable named $1 (printf -v: no subshell, which costs a fork per prompt).
  __tg_escape_to() {
    local v=${2//\\/\\\\}
    v=${v//;/\\x3b}; v=${v//$'\n'/\\x0a}; v=${v//$'\r'/\\x0d}; v=${v//$'\e'/\\x1b}; v=${v//$'\a'/\\x07}
    builtin printf -v "$1" '%s' "$v"
  }
  __tg_precmd() {
    local status=$? dir
    __tg_escape_to dir "$PWD"
    builtin printf '\e]133;D;%s;tg=%s\a\e]7770;cwd;%s;%s\a\e]7;file://%s%s\a' "$status" "$__tg_nonce" "$__tg_nonce" "$dir" "${HOSTNAME:-}" "$PWD"
    return $status
  }
  __tg_prompt() {
    case "$PS1" in *'133;A;tg='*) ;; *) PS1='\[\e]133;A;tg='"$__tg_nonce"'\a\]'"$PS1"'\[\e]133;B;tg='"$__tg_nonce"'\a\]' ;; esac
  }
  # Runs in PS0's command substitution (its one fork): the history line goes out as it is
  # ("  12  make test"), and termgate takes the number off.
  __tg_preexec() {
    builtin printf '\e]7770;hist;%s;' "$__tg_nonce"
    HISTTIMEFORMAT= builtin history 1
    builtin printf '\a\e]133;C;tg=%s\a' "$__tg_nonce"
  }
  # After the user's PS0, so what it prints is not taken for the command's output.
  PS0="${PS0:-}"'$(__tg_preexec)'
  # Newlines, not "; ": a user's PROMPT_COMMAND may end in ";" (pyenv's does).
  PROMPT_COMMAND="__tg_precmd"$'\n'"${PROMPT_COMMAND:-}"
  if (( BASH_VERSINFO[0] > 5 || (BASH_VERSINFO[0] == 5 && BASH_VERSINFO[1] >= 1) )); then
    PROMPT_COMMAND+=(__tg_prompt)
  else
    PROMPT_COMMAND+=$'\n'"__tg_prompt"
  fi
fi
