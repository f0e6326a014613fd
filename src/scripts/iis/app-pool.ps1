# Step "app-pool" of the IIS target: creates the application pool, or brings the package's existing one to the
# wanted settings.
# Input: {"appPoolName": "...", "siteName": "...", "installPath": "C:\\...", "loadUserProfile": true,
#         "identity": null | {"username": "...", "password": "..."}}
# Settings: No Managed Code (empty managedRuntimeVersion), Integrated pipeline, 64-bit, the identity
# (ApplicationPoolIdentity unless a user is given), Load User Profile with the profile environment. A new pool is
# created without auto-start: the configuration step starts it once appsettings.json is in place. A pool that an
# application of another site runs in belongs to someone else and is never changed; the site named siteName counts as
# this deployment's only when it serves the install folder (or a folder the install step filled), as the site step
# decides, so siteName and appPoolName naming someone else's site and pool never touch that pool.
# With iis.detectDrift the input also holds "drift": {"record": "C:\\...", "token": "..."}: once done, the step
# records the token there for the read-back, drift.ps1.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$step = 'app-pool'
$in = Read-StepInput $step
$secrets = @()
if ($null -ne $in.identity) {
    $secrets = @($in.identity.password)
}
try {
    Import-Module WebAdministration
    $manager = New-Object Microsoft.Web.Administration.ServerManager
    foreach ($site in $manager.Sites) {
        if ($site.Name -eq $in.siteName -and (Test-OwnSite $site $in.installPath)) {
            continue
        }
        foreach ($application in $site.Applications) {
            if ($application.ApplicationPoolName -eq $in.appPoolName) {
                throw "the application pool '$($in.appPoolName)' is used by the IIS site '$($site.Name)': it is not this deployment's; choose another iis.appPoolName"
            }
        }
    }
    $pool = $manager.ApplicationPools[$in.appPoolName]
    $created = $null -eq $pool
    if ($created) {
        $pool = $manager.ApplicationPools.Add($in.appPoolName)
        $pool.AutoStart = $false
    }
    $pool.ManagedRuntimeVersion = ''
    $pool.ManagedPipelineMode = [Microsoft.Web.Administration.ManagedPipelineMode]::Integrated
    $pool.Enable32BitAppOnWin64 = $false
    $pool.ProcessModel.LoadUserProfile = [bool]$in.loadUserProfile
    # An attribute of <processModel> since IIS 8.0 without a typed property in Microsoft.Web.Administration.
    $pool.ProcessModel.SetAttributeValue('setProfileEnvironment', [bool]$in.loadUserProfile)
    if ($null -ne $in.identity) {
        $pool.ProcessModel.IdentityType = [Microsoft.Web.Administration.ProcessModelIdentityType]::SpecificUser
        $pool.ProcessModel.UserName = $in.identity.username
        if ($pool.ProcessModel.Password -ne $in.identity.password) {
            $pool.ProcessModel.Password = $in.identity.password
        }
    } else {
        $pool.ProcessModel.IdentityType = [Microsoft.Web.Administration.ProcessModelIdentityType]::ApplicationPoolIdentity
        $pool.ProcessModel.UserName = ''
        $pool.ProcessModel.Password = ''
    }
    $manager.CommitChanges()
    Save-DriftRecord $in.drift
    Write-StepResult ([ordered]@{ appPoolName = $in.appPoolName; created = $created })
} catch {
    Stop-Step $step $_.Exception.Message $secrets
}
