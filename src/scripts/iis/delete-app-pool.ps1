# Deletes the application pool: stops it, then removes it. A pool (or IIS) that is already gone is fine.
# Input: the same JSON as app-pool.ps1 (only appPoolName is used).
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$step = 'app-pool (delete)'
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
    $pool = $manager.ApplicationPools[$in.appPoolName]
    if ($null -ne $pool) {
        try {
            if ($pool.State -ne 'Stopped') {
                $pool.Stop() | Out-Null
            }
        } catch {
            # A pool that cannot report or change its state can still be removed.
        }
        $manager.ApplicationPools.Remove($pool)
        $manager.CommitChanges()
    }
} catch {
    [Console]::Error.WriteLine("${step}: $($_.Exception.Message)")
    exit 1
}
