# Deletes the folder the "scripts" step wrote. Nothing there is needed once the other steps are gone.
# Input: the same JSON as scripts.ps1. A folder that is already gone is fine.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
$step = 'scripts (delete)'
try {
    $reader = New-Object System.IO.StreamReader([Console]::OpenStandardInput(), (New-Object System.Text.UTF8Encoding $false))
    $in = $reader.ReadToEnd() | ConvertFrom-Json
} catch {
    [Console]::Error.WriteLine("${step}: could not read the JSON input on standard input")
    exit 1
}
try {
    if (Test-Path -LiteralPath $in.directory) {
        Remove-Item -LiteralPath $in.directory -Recurse -Force
    }
} catch {
    [Console]::Error.WriteLine("${step}: $($_.Exception.Message)")
    exit 1
}
