# Deletes the application pool: stops it, then removes it. A pool (or IIS) that is already gone is fine; a pool that
# an application of some site still runs in is not this deployment's alone and is left in place.
# Input: the same JSON as app-pool.ps1 (appPoolName is used).
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$step = 'app-pool (delete)'
$in = Read-StepInput $step
try {
    if ($null -eq (Get-Module -ListAvailable -Name WebAdministration)) {
        Write-StepResult ([ordered]@{ deleted = $false; reason = 'IIS is not installed: nothing to delete' })
        exit 0
    }
    Import-Module WebAdministration
    $manager = New-Object Microsoft.Web.Administration.ServerManager
    $pool = $manager.ApplicationPools[$in.appPoolName]
    if ($null -eq $pool) {
        exit 0
    }
    foreach ($site in $manager.Sites) {
        foreach ($application in $site.Applications) {
            if ($application.ApplicationPoolName -eq $in.appPoolName) {
                Write-StepResult ([ordered]@{ deleted = $false; reason = "the application pool '$($in.appPoolName)' is used by the IIS site '$($site.Name)': left in place" })
                exit 0
            }
        }
    }
    try {
        if ($pool.State -eq 'Started') {
            $pool.Stop() | Out-Null
        }
    } catch {
        # A pool that cannot report or change its state can still be removed.
    }
    $manager.ApplicationPools.Remove($pool)
    $manager.CommitChanges()
} catch {
    Stop-Step $step $_.Exception.Message
}
