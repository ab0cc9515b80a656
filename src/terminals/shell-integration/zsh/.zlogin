# termgate shell integration: the user's .zlogin (login shells read it after .zshrc),
# then ZDOTDIR is theirs again.
ZDOTDIR=${TERMGATE_USER_ZDOTDIR:-$HOME}
unset TERMGATE_USER_ZDOTDIR
[[ -r "$ZDOTDIR/.zlogin" ]] && builtin source "$ZDOTDIR/.zlogin"
[[ $ZDOTDIR == $HOME ]] && unset ZDOTDIR
