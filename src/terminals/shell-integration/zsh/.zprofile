# termgate shell integration: ZDOTDIR points here so that zsh reads these files;
# each reads the user's own file from their ZDOTDIR (or $HOME), as zsh would have.
__tg_dir=$ZDOTDIR
ZDOTDIR=${TERMGATE_USER_ZDOTDIR:-$HOME}
[[ -r "$ZDOTDIR/.zprofile" ]] && builtin source "$ZDOTDIR/.zprofile"
TERMGATE_USER_ZDOTDIR=$ZDOTDIR
ZDOTDIR=$__tg_dir
unset __tg_dir
