/**
 * The completion script of each shell, printed by `kubectl insight completion <shell>`. Each registers
 * for the command name `kubectl-insight` and asks the plugin on every TAB (`kubectl-insight __complete
 * -- <words...> <word being completed>`), then reads the Cobra directive (./protocol.ts): nothing on an
 * error, no space, no file names, else file names when there is no candidate. `kubectl insight <TAB>` is
 * kubectl's own completion, which runs kubectl_complete-insight (docs/completion.md).
 * Written for this plugin after the behaviour of Cobra's scripts (spf13/cobra *_completions.go).
 */

export const SHELLS = ['bash', 'zsh', 'fish', 'powershell'] as const;
export type Shell = (typeof SHELLS)[number];

export function isShell(s: string): s is Shell {
  return (SHELLS as readonly string[]).includes(s);
}

export function completionScript(shell: Shell): string {
  return SCRIPTS[shell];
}

const SCRIPTS: Record<Shell, string> = {
  bash: `# bash completion for kubectl-insight (kubectl insight).    Load it: source <(kubectl-insight completion bash)
# Every TAB asks \`kubectl-insight __complete -- <words> <word being completed>\` (Cobra's __complete
# protocol: candidates one a line, \`value<TAB>description\`, then \`:<directive>\`).

# The words up to the cursor. COMP_WORDS is cut at COMP_WORDBREAKS (= and :): pieces that touch in the
# line are glued back, so \`--output=js\` stays one word as the program reads it.
__kubectl_insight_words() {
    local line=\${COMP_LINE:0:COMP_POINT} pos=0 i w rest trimmed last
    words=()
    for ((i = 0; i <= COMP_CWORD && i < \${#COMP_WORDS[@]}; i++)); do
        w=\${COMP_WORDS[i]}
        rest=\${line:pos}
        trimmed=\${rest#"\${rest%%[![:space:]]*}"}
        if ((i > 0 && \${#rest} == \${#trimmed} && \${#words[@]} > 0)); then
            words[\${#words[@]}-1]+=$w
        else
            words+=("$w")
        fi
        pos=$((pos + \${#rest} - \${#trimmed} + \${#w}))
    done
    # The cursor may sit inside the last word: complete what is before it.
    if ((pos > \${#line} && \${#words[@]} > 0)); then
        last=\${words[\${#words[@]}-1]}
        words[\${#words[@]}-1]=\${last:0:\${#last}-(pos-\${#line})}
    fi
}

__kubectl_insight_complete() {
    local -a words lines candidates
    local out line directive=0 cur value word strip comp desc longest=0 width i
    COMPREPLY=()
    __kubectl_insight_words
    ((\${#words[@]} > 1)) || words+=('')
    cur=\${words[\${#words[@]}-1]}

    out=$("\${words[0]}" __complete -- "\${words[@]:1}" 2>/dev/null) || return 0
    while IFS='' read -r line; do
        [[ -n $line ]] && lines+=("$line")
    done <<<"$out"
    if ((\${#lines[@]} > 0)) && [[ \${lines[\${#lines[@]}-1]} =~ ^:[0-9]+$ ]]; then
        directive=\${lines[\${#lines[@]}-1]:1}
        unset 'lines[\${#lines[@]}-1]'
    fi

    # 1: error, nothing to offer.
    ((directive & 1)) && return 0
    # 2: no space after the candidate; 32: keep the program's order; 4: no file names in place of none.
    ((directive & 2)) && compopt -o nospace 2>/dev/null
    ((directive & 32)) && compopt -o nosort 2>/dev/null
    ((directive & 4)) && compopt +o default 2>/dev/null

    # The candidates are values of the word being completed; for --flag=value, of the part after \`=\`.
    value=$cur
    [[ $cur == --*=* ]] && value=\${cur#*=}
    # Readline replaces only the text after the last word-break character (= or :) in the word.
    word=$value
    [[ $COMP_WORDBREAKS == *:* ]] && word=\${word##*:}
    [[ $COMP_WORDBREAKS == *=* ]] && word=\${word##*=}
    strip=\${value:0:\${#value}-\${#word}}

    # 8: candidates are file extensions; 16: complete directories.
    if ((directive & 8)); then
        local ext f
        compopt -o filenames 2>/dev/null
        while IFS='' read -r f; do
            if [[ -d $f ]]; then COMPREPLY+=("$f"); continue; fi
            for ext in "\${lines[@]}"; do [[ $f == *."$ext" ]] && COMPREPLY+=("$f") && break; done
        done < <(compgen -f -- "$word")
        return 0
    fi
    if ((directive & 16)); then
        compopt -o filenames 2>/dev/null
        while IFS='' read -r line; do COMPREPLY+=("$line"); done < <(compgen -d -- "$word")
        return 0
    fi

    for line in "\${lines[@]}"; do
        comp=\${line%%$'\\t'*}
        [[ $comp == "$value"* ]] || continue
        desc=''
        [[ $line == *$'\\t'* ]] && desc=\${line#*$'\\t'}
        candidates+=("\${comp:\${#strip}}"$'\\t'"$desc")
        ((\${#comp} - \${#strip} > longest)) && longest=$((\${#comp} - \${#strip}))
    done
    ((\${#candidates[@]} == 0)) && return 0

    # One candidate: inserted, quoted for the shell.
    if ((\${#candidates[@]} == 1)); then
        COMPREPLY=("$(printf '%q' "\${candidates[0]%%$'\\t'*}")")
        return 0
    fi
    # Several: listed with their descriptions, unless readline inserts them all or cycles (COMP_TYPE 37, 42).
    width=\${COLUMNS:-80}
    for i in "\${!candidates[@]}"; do
        comp=\${candidates[i]%%$'\\t'*}
        desc=\${candidates[i]#*$'\\t'}
        if [[ -z $desc || $COMP_TYPE == 37 || $COMP_TYPE == 42 ]]; then
            COMPREPLY+=("$comp")
            continue
        fi
        while ((\${#comp} < longest)); do comp+=' '; done
        ((width - longest - 4 > 8)) && ((\${#desc} > width - longest - 4)) && desc="\${desc:0:width-longest-5}…"
        COMPREPLY+=("$comp  ($desc)")
    done
}

complete -o default -F __kubectl_insight_complete kubectl-insight
`,
  zsh: `#compdef kubectl-insight
# zsh completion for kubectl-insight.    Load it (after compinit): source <(kubectl-insight completion zsh)
# or save it as _kubectl-insight in a directory of $fpath.
# Every TAB asks \`kubectl-insight __complete -- <words> <word being completed>\` (Cobra's __complete
# protocol: candidates one a line, \`value<TAB>description\`, then \`:<directive>\`).

_kubectl_insight() {
    local -a args lines described
    local out line directive=0 value desc
    # The words after the program up to the cursor, unquoted; the last is the word being completed ('' after a space).
    args=("\${(@Q)words[2,CURRENT]}")
    out=$(\${words[1]} __complete -- "\${args[@]}" 2>/dev/null) || return 1
    lines=("\${(@f)out}")
    if [[ \${lines[-1]} == :<-> ]]; then
        directive=\${lines[-1]#:}
        lines=("\${(@)lines[1,-2]}")
    fi
    # 1: error, nothing to offer.
    (( directive & 1 )) && return 1

    # 16: directories; 8: files with the given extensions.
    if (( directive & 16 )); then
        _files -/
        return
    fi
    if (( directive & 8 )); then
        _files -g "*.(\${(j:|:)lines})"
        return
    fi

    # --flag=value: the candidates are values; the \`--flag=\` part stays as typed.
    [[ \${args[-1]} == --*=* ]] && compset -P '*='
    for line in "\${lines[@]}"; do
        [[ -z $line ]] && continue
        value=\${line%%$'\\t'*}
        desc=''
        [[ $line == *$'\\t'* ]] && desc=\${line#*$'\\t'}
        # _describe reads \`value:description\`: a colon in the value is escaped.
        described+=("\${value//:/\\\\:}\${desc:+:$desc}")
    done
    if (( \${#described} )); then
        # 2: no space after the candidate; 32: keep the program's order.
        local -a opts
        (( directive & 2 )) && opts+=(-S '')
        if (( directive & 32 )); then
            _describe -V -t kubectl-insight 'kubectl-insight' described "\${opts[@]}" && return 0
        else
            _describe -t kubectl-insight 'kubectl-insight' described "\${opts[@]}" && return 0
        fi
    fi
    # 4: no file names in place of candidates.
    (( directive & 4 )) && return 1
    _files
}

if [[ \${funcstack[1]} == _kubectl-insight ]]; then
    # Autoloaded from $fpath: this file is the function body.
    _kubectl_insight "$@"
else
    compdef _kubectl_insight kubectl-insight
fi
`,
  fish: `# fish completion for kubectl-insight.    Load it: kubectl-insight completion fish | source
# or save it as ~/.config/fish/completions/kubectl-insight.fish.
# Every TAB asks \`kubectl-insight __complete -- <words> <word being completed>\` (Cobra's __complete
# protocol: candidates one a line, \`value<TAB>description\`, then \`:<directive>\`).

# Fills $__kubectl_insight_results; false when fish should complete file names instead.
function __kubectl_insight_prepare
    set --global __kubectl_insight_results
    set -l args (commandline -opc)
    set -l current (commandline -ct)
    set -l out (command $args[1] __complete -- $args[2..-1] $current 2>/dev/null)
    or return 1
    set -l directive 0
    if test (count $out) -gt 0; and string match -qr '^:[0-9]+$' -- $out[-1]
        set directive (string sub --start 2 -- $out[-1])
        set -e out[-1]
    end
    # 1: error, nothing to offer (and no file names).
    if test (math "bitand($directive, 1)") -ne 0
        return 0
    end
    # 8, 16: file names (fish filters neither by extension nor to directories here).
    if test (math "bitand($directive, 24)") -ne 0
        return 1
    end
    # --flag=value: fish matches the whole word, so the values get the \`--flag=\` back.
    set -l prefix (string match -r -- '^--[^=]*=' $current)
    for line in $out
        test -n "$line"; and set -a __kubectl_insight_results "$prefix$line"
    end
    # 4: no file names in place of candidates.
    if test (count $__kubectl_insight_results) -eq 0; and test (math "bitand($directive, 4)") -eq 0
        return 1
    end
    return 0
end

complete -c kubectl-insight -e
complete -c kubectl-insight -f -n __kubectl_insight_prepare -a '$__kubectl_insight_results'
`,
  powershell: `# powershell completion for kubectl-insight.    Load it (e.g. in $PROFILE):
#   kubectl-insight completion powershell | Out-String | Invoke-Expression
# Every TAB asks \`kubectl-insight __complete -- <words> <word being completed>\` (Cobra's __complete
# protocol: candidates one a line, \`value<TAB>description\`, then \`:<directive>\`).

Register-ArgumentCompleter -Native -CommandName 'kubectl-insight', 'kubectl-insight.exe' -ScriptBlock {
    param($WordToComplete, $CommandAst, $CursorPosition)

    # The words before the cursor; the first is the program.
    $elements = @($CommandAst.CommandElements | Where-Object { $_.Extent.StartOffset -lt $CursorPosition } | ForEach-Object { $_.Extent.Text })
    $program = $elements[0]
    $words = @($elements | Select-Object -Skip 1)
    if ($WordToComplete -eq '') {
        # After a space the word being completed is empty. Before 7.3 (and in Legacy mode) PowerShell
        # drops an empty argument to a native program: it is passed as a quoted empty string then.
        $legacy = $PSVersionTable.PSVersion -lt [version]'7.3.0' -or $PSNativeCommandArgumentPassing -eq 'Legacy'
        $words += $(if ($legacy) { '""' } else { '' })
    }

    $out = @(& $program __complete -- @words 2>$null)
    $directive = 0
    if ($out.Count -gt 0 -and $out[-1] -match '^:(\\d+)$') {
        $directive = [int]$Matches[1]
        $out = @($out | Select-Object -SkipLast 1)
    }
    # 1: error, nothing to offer.
    if ($directive -band 1) { return '' }

    # --flag=value: PowerShell replaces the whole word, so the values get the \`--flag=\` back.
    $prefix = ''
    if ($WordToComplete -match '^(--[^=]*=)') { $prefix = $Matches[1] }
    $results = @(foreach ($line in $out) {
        if ($line -eq '') { continue }
        $value, $desc = $line -split "\`t", 2
        if (-not $desc) { $desc = $value }
        $text = "$prefix$value"
        if ($text -match '[\\s''"\`$]') { $text = "'" + ($text -replace "'", "''") + "'" }
        [System.Management.Automation.CompletionResult]::new($text, $value, 'ParameterValue', $desc)
    })
    if ($results.Count -gt 0) { return $results }
    # 4: no file names in place of candidates (an empty string keeps PowerShell from listing paths).
    if ($directive -band 4) { return '' }
}
`,
};
