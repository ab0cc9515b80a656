# termgate shell integration for zsh. ZDOTDIR points here: the user's .zshrc runs
# first, from their own ZDOTDIR, then the hooks below report each prompt and command
# in OSC 133 / OSC 7 sequences (docs/terminals.md: Shell integration).
__tg_dir=$ZDOTDIR
ZDOTDIR=${TERMGATE_USER_ZDOTDIR:-$HOME}
[[ -r "$ZDOTDIR/.zshrc" ]] && builtin source "$ZDOTDIR/.zshrc"
TERMGATE_USER_ZDOTDIR=$ZDOTDIR
# A login shell reads .zlogin next, from here (it gives ZDOTDIR back); otherwise give it back now.
if [[ -o login ]]; then
  ZDOTDIR=$__tg_dir
else
  unset TERMGATE_USER_ZDOTDIR
  [[ $ZDOTDIR == $HOME ]] && unset ZDOTDIR
fi
unset __tg_dir
if [[ -n ${__tg_nonce-} && -z ${__tg_installed-} ]]; then
  typeset -g __tg_installed=1
  setopt HIST_IGNORE_SPACE
  # Escapes $1 into REPLY (no command substitution: that would cost a fork per prompt).
  __tg_escape() {
    local v=${1//\\/\\\\}
    v=${v//;/\\x3b}; v=${v//$'\n'/\\x0a}; v=${v//$'\r'/\\x0d}; v=${v//$'\e'/\\x1b}; v=${v//$'\a'/\\x07}
    REPLY=$v
  }
  __tg_precmd() {
    local code=$? REPLY
    __tg_escape "$PWD"
    builtin printf '\e]133;D;%s;tg=%s\a\e]7770;cwd;%s;%s\a\e]7;file://%s%s\a' "$code" "$__tg_nonce" "$__tg_nonce" "$REPLY" "${HOST:-}" "$PWD"
    return $code
  }
  __tg_prompt() {
    [[ $PS1 == *'133;A;tg='* ]] || PS1="%{"$'\e'"]133;A;tg=$__tg_nonce"$'\a'"%}$PS1%{"$'\e'"]133;B;tg=$__tg_nonce"$'\a'"%}"
    # PROMPT_SP prints this mark (and a line of spaces) after a command, before precmd runs:
    # the end of the command is told first, so the mark is not taken for its output.
    [[ ${PROMPT_EOL_MARK-} == *'133;D;'* ]] || PROMPT_EOL_MARK="%{"$'\e'"]133;D;%?;tg=$__tg_nonce"$'\a'"%}${PROMPT_EOL_MARK-%B%S%#%s%b}"
  }
  __tg_preexec() {
    local REPLY
    __tg_escape "$1"
    builtin printf '\e]7770;cmd;%s;%s\a\e]133;C;tg=%s\a' "$__tg_nonce" "$REPLY" "$__tg_nonce"
  }
  precmd_functions=(__tg_precmd "${precmd_functions[@]}" __tg_prompt)
  preexec_functions+=(__tg_preexec)
fi
