# Deletes the folder the "scripts" step wrote, once the install folder beside it is gone: every other step (whose
# delete commands run files from this folder) is deleted before this one, and the install step's delete removes the
# install folder. While the install folder is still there, the folder stays: this step is then being replaced by one
# that wrote the same folder (pulumi up --replace, to write files removed by hand), which still needs it.
# Input: the same lines as scripts.ps1, of which only the first, 'folder <path>', is read. A folder that is already
# gone is fine. The folder is removed with [IO.Directory]::Delete, which removes a junction or symbolic link itself and
# never what it points to (Windows PowerShell 5.1's Remove-Item -Recurse would follow it). Output: nothing, or one line
# of ASCII JSON saying why the folder was kept.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
$step = 'scripts (delete)'
try {
    $reader = New-Object System.IO.StreamReader([Console]::OpenStandardInput(), (New-Object System.Text.UTF8Encoding $false))
    $first = $reader.ReadToEnd().Split([char]10)[0]
} catch {
    [Console]::Error.WriteLine("${step}: could not read the file list on standard input")
    exit 1
}
try {
    if ($first -cnotmatch '^folder (\S.*)\.deploy$') {
        throw "the input does not start with a 'folder <install folder>.deploy' line"
    }
    $folder = "$($Matches[1]).deploy"
    $install = $Matches[1]
    if (Test-Path -LiteralPath $install) {
        $json = ConvertTo-Json -Compress -InputObject ([ordered]@{ kept = $folder; reason = "the install folder $install is still there" })
        [Console]::Out.WriteLine([regex]::Replace($json, '[^\x00-\x7f]', { param($match) '\u{0:x4}' -f [int][char]$match.Value }))
    } elseif (Test-Path -LiteralPath $folder) {
        [System.IO.Directory]::Delete($ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($folder), $true)
    }
} catch {
    [Console]::Error.WriteLine("${step}: $($_.Exception.Message)")
    exit 1
}
