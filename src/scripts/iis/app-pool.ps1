# Step "app-pool" of the IIS target: creates the application pool, or brings an existing one to the wanted settings.
# Input: {"appPoolName": "...", "loadUserProfile": true, "identity": null | {"username": "...", "password": "..."}}
# Settings: No Managed Code (empty managedRuntimeVersion), Integrated pipeline, the identity
# (ApplicationPoolIdentity unless a user is given), Load User Profile. A new pool is created without auto-start:
# the configuration step starts it once appsettings.json is in place.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$step = 'app-pool'
try {
    $reader = New-Object System.IO.StreamReader([Console]::OpenStandardInput(), (New-Object System.Text.UTF8Encoding $false))
    $in = $reader.ReadToEnd() | ConvertFrom-Json
} catch {
    [Console]::Error.WriteLine("${step}: could not read the JSON input on standard input")
    exit 1
}
$secrets = @()
if ($null -ne $in.identity) {
    $secrets = @($in.identity.password)
}
try {
    Import-Module WebAdministration
    $manager = New-Object Microsoft.Web.Administration.ServerManager
    $pool = $manager.ApplicationPools[$in.appPoolName]
    $created = $null -eq $pool
    if ($created) {
        $pool = $manager.ApplicationPools.Add($in.appPoolName)
        $pool.AutoStart = $false
    }
    $pool.ManagedRuntimeVersion = ''
    $pool.ManagedPipelineMode = [Microsoft.Web.Administration.ManagedPipelineMode]::Integrated
    $pool.ProcessModel.LoadUserProfile = [bool]$in.loadUserProfile
    if ($null -ne $in.identity) {
        $pool.ProcessModel.IdentityType = [Microsoft.Web.Administration.ProcessModelIdentityType]::SpecificUser
        $pool.ProcessModel.UserName = $in.identity.username
        $pool.ProcessModel.Password = $in.identity.password
    } else {
        $pool.ProcessModel.IdentityType = [Microsoft.Web.Administration.ProcessModelIdentityType]::ApplicationPoolIdentity
        $pool.ProcessModel.UserName = ''
        $pool.ProcessModel.Password = ''
    }
    $manager.CommitChanges()
    Write-Output (ConvertTo-Json -Compress -InputObject @{ appPoolName = $in.appPoolName; created = $created })
} catch {
    $message = $_.Exception.Message
    foreach ($secret in $secrets) {
        if ($secret) {
            $message = $message.Replace($secret, '[redacted]')
        }
    }
    [Console]::Error.WriteLine("${step}: $message")
    exit 1
}
