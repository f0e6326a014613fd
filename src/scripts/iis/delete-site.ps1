# Deletes the site: stops it and removes it (IIS removes the site's https certificate binding from HTTP.sys with it).
# A site that is already gone is fine; a site that serves a folder the install step did not fill is someone else's
# and is left in place.
# Input: the same JSON as site.ps1.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
$step = 'site (delete)'
try {
    $reader = New-Object System.IO.StreamReader([Console]::OpenStandardInput(), (New-Object System.Text.UTF8Encoding $false))
    $in = $reader.ReadToEnd() | ConvertFrom-Json
} catch {
    [Console]::Error.WriteLine("${step}: could not read the JSON input on standard input")
    exit 1
}
try {
    if ($null -eq (Get-Module -ListAvailable -Name WebAdministration)) {
        Write-Output 'IIS is not installed: nothing to delete'
        exit 0
    }
    Import-Module WebAdministration
    $manager = New-Object Microsoft.Web.Administration.ServerManager
    $site = $manager.Sites[$in.siteName]
    if ($null -eq $site) {
        exit 0
    }
    $current = $site.Applications['/'].VirtualDirectories['/'].PhysicalPath
    $owned = $current -eq $in.physicalPath -or (Test-Path -LiteralPath (Join-Path ([Environment]::ExpandEnvironmentVariables($current)) '.identity-service-archive'))
    if (-not $owned) {
        Write-Output "the IIS site '$($in.siteName)' serves $current, which this package did not install: left in place"
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
    [Console]::Error.WriteLine("${step}: $($_.Exception.Message)")
    exit 1
}
