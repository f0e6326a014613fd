# Deletes the install folder, but only when the "install" step made it (its marker file is there): a folder this
# package did not fill is never removed. Runs after the site and pool are gone. Missing folders are fine.
# Input: the same JSON as install.ps1.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
$step = 'install (delete)'
try {
    $reader = New-Object System.IO.StreamReader([Console]::OpenStandardInput(), (New-Object System.Text.UTF8Encoding $false))
    $in = $reader.ReadToEnd() | ConvertFrom-Json
} catch {
    [Console]::Error.WriteLine("${step}: could not read the JSON input on standard input")
    exit 1
}
try {
    $staging = $in.installPath + '.staging'
    if (Test-Path -LiteralPath $staging) {
        Remove-Item -LiteralPath $staging -Recurse -Force
    }
    if (Test-Path -LiteralPath (Join-Path $in.installPath '.identity-service-archive')) {
        # The worker process may take a moment to release the files after its pool was removed.
        for ($attempt = 1; ; $attempt++) {
            try {
                Remove-Item -LiteralPath $in.installPath -Recurse -Force
                break
            } catch {
                if ($attempt -ge 20) {
                    throw
                }
                Start-Sleep -Seconds 3
            }
        }
    }
} catch {
    [Console]::Error.WriteLine("${step}: $($_.Exception.Message)")
    exit 1
}
