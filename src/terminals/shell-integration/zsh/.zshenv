# termgate shell integration: ZDOTDIR points here so that zsh reads these files;
# each reads the user's own file from their ZDOTDIR (or $HOME), as zsh would have.
# The nonce first, before any file of the user's can start a program that would inherit it.
typeset -g __tg_nonce=${TERMGATE_SHELL_NONCE-}
unset TERMGATE_SHELL_NONCE
__tg_dir=$ZDOTDIR
ZDOTDIR=${TERMGATE_USER_ZDOTDIR:-$HOME}
[[ -r "$ZDOTDIR/.zshenv" ]] && builtin source "$ZDOTDIR/.zshenv"
TERMGATE_USER_ZDOTDIR=$ZDOTDIR
ZDOTDIR=$__tg_dir
unset __tg_dir
