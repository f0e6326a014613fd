# Deletes the site: stops it, removes it, and removes the https certificate binding of its https port from
# HTTP.sys when it still holds this site's certificate and no other site uses the port. A site that is already
# gone is fine.
# Input: the same JSON as site.ps1.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
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
    if ($null -ne $site) {
        try {
            if ($site.State -ne 'Stopped') {
                $site.Stop() | Out-Null
            }
        } catch {
            # A site that cannot report or change its state can still be removed.
        }
        $manager.Sites.Remove($site)
        $manager.CommitChanges()
    }
    if ($null -ne $in.https) {
        $port = [string]$in.https.port
        $used = $false
        foreach ($other in (New-Object Microsoft.Web.Administration.ServerManager).Sites) {
            foreach ($binding in $other.Bindings) {
                if ($binding.BindingInformation.Split(':')[1] -eq $port) {
                    $used = $true
                }
            }
        }
        $sslBinding = 'IIS:\SslBindings\0.0.0.0!' + $port
        if (-not $used -and (Test-Path -LiteralPath $sslBinding)) {
            if ((Get-Item -LiteralPath $sslBinding).Thumbprint -eq $in.https.certificateThumbprint) {
                Remove-Item -LiteralPath $sslBinding -Force
            }
        }
    }
} catch {
    [Console]::Error.WriteLine("${step}: $($_.Exception.Message)")
    exit 1
}
