# termgate shell integration for fish, run by `fish --init-command` after the user's
# config files: events report each command and the prompt is wrapped, in OSC 133 /
# OSC 7 sequences (docs/terminals.md: Shell integration).
if status is-interactive; and set -q TERMGATE_SHELL_NONCE; and not set -q __tg_installed
    set -g __tg_installed 1
    set -g __tg_nonce $TERMGATE_SHELL_NONCE
    set -e TERMGATE_SHELL_NONCE
    function __tg_escape
        string join \n -- $argv | string replace -a '\\' '\\\\' | string replace -a ';' '\\x3b' | string replace -a \e '\\x1b' | string replace -a \a '\\x07' | string replace -a \r '\\x0d' | string join '\\x0a'
    end
    function __tg_preexec --on-event fish_preexec
        printf '\e]7770;cmd;%s;%s\a\e]133;C;tg=%s\a' $__tg_nonce (__tg_escape $argv) $__tg_nonce
    end
    # At once after the command, before fish marks a missing newline (the ⏎ line) and draws its prompt.
    function __tg_postexec --on-event fish_postexec
        printf '\e]133;D;%s;tg=%s\a' $status $__tg_nonce
        __tg_cwd
    end
    function __tg_cwd
        printf '\e]7770;cwd;%s;%s\a\e]7;file://%s%s\a' $__tg_nonce (__tg_escape $PWD) (prompt_hostname) $PWD
    end
    __tg_cwd
    functions -q fish_prompt; and functions -c fish_prompt __tg_user_prompt
    function fish_prompt
        printf '\e]133;A;tg=%s\a' $__tg_nonce
        functions -q __tg_user_prompt; and __tg_user_prompt
        printf '\e]133;B;tg=%s\a' $__tg_nonce
    end
end
