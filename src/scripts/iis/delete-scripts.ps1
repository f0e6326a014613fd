# Deletes the folder the "scripts" step wrote. Nothing there is needed once the other steps are gone.
# Input: the same lines as scripts.ps1, of which only the first, 'folder <path>', is read. A folder that is already
# gone is fine.
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
    if ($first -cnotmatch '^folder (\S.*)$') {
        throw "the input does not start with a 'folder <path>' line"
    }
    $folder = $Matches[1]
    if (Test-Path -LiteralPath $folder) {
        Remove-Item -LiteralPath $folder -Recurse -Force
    }
} catch {
    [Console]::Error.WriteLine("${step}: $($_.Exception.Message)")
    exit 1
}
