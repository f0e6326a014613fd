# Deletes the install folder, but only when the "install" step made it (its marker file is there): a folder this
# package did not fill is never removed. The staging folder beside it goes only when it carries the install step's
# staging marker. Runs after the site and pool are gone. Missing folders are fine. Nothing is removed through a
# junction or symbolic link: a link inside the folder (a "logs" junction to a shared folder, say) goes, not its target.
# Input: the same JSON as install.ps1.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$step = 'install (delete)'
$in = Read-StepInput $step
try {
    $installPath = $in.installPath.TrimEnd('\')
    $staging = $installPath + '.staging'
    if ((Test-Path -LiteralPath (Join-Path $staging '.identity-service-staging')) -and -not (Test-Link $staging)) {
        Remove-Tree $staging
    }
    if (Test-Path -LiteralPath (Join-Path $installPath $InstallMarker)) {
        # The worker process may take a moment to release the files after its pool was removed.
        for ($attempt = 1; ; $attempt++) {
            try {
                Remove-Tree $installPath
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
    Stop-Step $step $_.Exception.Message
}
