# Step "site" of the IIS target: creates the site, or brings an existing one to the wanted settings.
# Input: {"siteName": "...", "appPoolName": "...", "physicalPath": "C:\\...", "port": 8090,
#         "https": null | {"port": 8443, "certificateThumbprint": "<40 hex digits>"}}
# The site gets exactly these bindings: http on *:<port>, and https on *:<https.port> with the certificate from
# the LocalMachine\My (or WebHosting) store. A port bound by another site is an error.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$step = 'site'
try {
    $reader = New-Object System.IO.StreamReader([Console]::OpenStandardInput(), (New-Object System.Text.UTF8Encoding $false))
    $in = $reader.ReadToEnd() | ConvertFrom-Json
} catch {
    [Console]::Error.WriteLine("${step}: could not read the JSON input on standard input")
    exit 1
}
try {
    Import-Module WebAdministration
    $manager = New-Object Microsoft.Web.Administration.ServerManager
    $ports = @([int]$in.port)
    if ($null -ne $in.https) {
        $ports += [int]$in.https.port
    }
    foreach ($other in $manager.Sites) {
        if ($other.Name -eq $in.siteName) {
            continue
        }
        foreach ($binding in $other.Bindings) {
            $parts = $binding.BindingInformation.Split(':')
            if ($parts.Count -ge 2 -and $ports -contains [int]$parts[1]) {
                throw "port $($parts[1]) is already bound by the IIS site '$($other.Name)': choose another iis.port or iis.https.port"
            }
        }
    }
    $certificate = $null
    if ($null -ne $in.https) {
        foreach ($store in @('My', 'WebHosting')) {
            $candidate = Join-Path "Cert:\LocalMachine\$store" $in.https.certificateThumbprint
            if (Test-Path -LiteralPath $candidate) {
                $certificate = @{ hash = (Get-Item -LiteralPath $candidate).GetCertHash(); store = $store }
                break
            }
        }
        if ($null -eq $certificate) {
            throw "no certificate with thumbprint $($in.https.certificateThumbprint) in the LocalMachine\My or LocalMachine\WebHosting store: import it with its private key, or fix iis.https.certificateThumbprint"
        }
    }
    $httpBinding = '*:' + $in.port + ':'
    $site = $manager.Sites[$in.siteName]
    $created = $null -eq $site
    if ($created) {
        $site = $manager.Sites.Add($in.siteName, 'http', $httpBinding, $in.physicalPath)
    }
    $application = $site.Applications['/']
    $application.ApplicationPoolName = $in.appPoolName
    $application.VirtualDirectories['/'].PhysicalPath = $in.physicalPath
    $site.Bindings.Clear()
    $site.Bindings.Add($httpBinding, 'http') | Out-Null
    if ($null -ne $certificate) {
        $site.Bindings.Add('*:' + $in.https.port + ':', $certificate.hash, $certificate.store) | Out-Null
    }
    $manager.CommitChanges()
    Write-Output (ConvertTo-Json -Compress -InputObject @{ siteName = $in.siteName; created = $created })
} catch {
    [Console]::Error.WriteLine("${step}: $($_.Exception.Message)")
    exit 1
}
