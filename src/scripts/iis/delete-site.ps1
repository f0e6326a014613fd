# Deletes the site: stops it and removes it (IIS removes the site's https certificate binding from HTTP.sys with it).
# A site that is already gone is fine; a site that serves a folder the install step did not fill is someone else's
# and is left in place.
# Input: the same JSON as site.ps1.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$step = 'site (delete)'
$in = Read-StepInput $step
try {
    if ($null -eq (Get-Module -ListAvailable -Name WebAdministration)) {
        Write-StepResult ([ordered]@{ deleted = $false; reason = 'IIS is not installed: nothing to delete' })
        exit 0
    }
    Import-Module WebAdministration
    $manager = New-Object Microsoft.Web.Administration.ServerManager
    $site = $manager.Sites[$in.siteName]
    if ($null -eq $site) {
        exit 0
    }
    if (-not (Test-OwnSite $site $in.physicalPath)) {
        $current = $site.Applications['/'].VirtualDirectories['/'].PhysicalPath
        Write-StepResult ([ordered]@{ deleted = $false; reason = "the IIS site '$($in.siteName)' serves $current, which this package did not install: left in place" })
        exit 0
    }
    try {
        if ($site.State -eq 'Started') {
            $site.Stop() | Out-Null
        }
    } catch {
        # A site that cannot report or change its state can still be removed.
    }
    $manager.Sites.Remove($site)
    $manager.CommitChanges()
} catch {
    Stop-Step $step $_.Exception.Message
}
