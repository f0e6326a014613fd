# Step "site" of the IIS target: creates the site, or brings the package's existing one to the wanted settings.
# Input: {"siteName": "...", "appPoolName": "...", "physicalPath": "C:\\...", "port": 8090,
#         "https": null | {"port": 8443, "certificateThumbprint": "<40 hex digits>"}}
# The site gets exactly these bindings: http on *:<port>, and https on *:<https.port> with the certificate from
# the LocalMachine\My (or WebHosting) store; bindings that are already right are left alone, so HTTP.sys keeps its
# certificate binding. A port bound over http(s) by another site is an error. An existing site whose folder holds no
# marker of the install step is someone else's and is never changed.
# With iis.detectDrift the input also holds "drift": {"record": "C:\\...", "token": "..."}: once done, the step
# records the token there for the read-back, drift.ps1.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$step = 'site'
$in = Read-StepInput $step
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
            # Only http and https bind TCP ports here ("ip:port:host"); net.tcp "808:*" and the like do not.
            if ($binding.Protocol -ne 'http' -and $binding.Protocol -ne 'https') {
                continue
            }
            if ($binding.BindingInformation -match '^.*:(\d+):[^:]*$' -and $ports -contains [int]$Matches[1]) {
                throw "port $($Matches[1]) is already bound by the IIS site '$($other.Name)': choose another iis.port or iis.https.port"
            }
        }
    }
    $wanted = @(@{ protocol = 'http'; information = '*:' + $in.port + ':'; hash = $null; store = $null })
    if ($null -ne $in.https) {
        $certificate = $null
        foreach ($store in @('My', 'WebHosting')) {
            $candidate = 'Cert:\LocalMachine\' + $store + '\' + $in.https.certificateThumbprint
            if (Test-Path -LiteralPath $candidate) {
                $certificate = Get-Item -LiteralPath $candidate
                break
            }
        }
        if ($null -eq $certificate) {
            throw "no certificate with thumbprint $($in.https.certificateThumbprint) in the LocalMachine\My or LocalMachine\WebHosting store: import it with its private key, or fix iis.https.certificateThumbprint"
        }
        if (-not $certificate.HasPrivateKey) {
            throw "the certificate $($in.https.certificateThumbprint) in LocalMachine\$store has no private key: import it again from a .pfx with its private key"
        }
        $wanted += @{ protocol = 'https'; information = '*:' + $in.https.port + ':'; hash = $certificate.GetCertHash(); store = $store }
    }
    $site = $manager.Sites[$in.siteName]
    $created = $null -eq $site
    if ($created) {
        $site = $manager.Sites.Add($in.siteName, 'http', $wanted[0].information, $in.physicalPath)
    } elseif (-not (Test-OwnSite $site $in.physicalPath)) {
        $current = $site.Applications['/'].VirtualDirectories['/'].PhysicalPath
        throw "the IIS site '$($in.siteName)' serves $current, which this package did not install: it is not this deployment's; choose another iis.siteName"
    }
    $application = $site.Applications['/']
    $application.ApplicationPoolName = $in.appPoolName
    $application.VirtualDirectories['/'].PhysicalPath = $in.physicalPath
    $same = {
        param($binding, $want)
        $hash = if ($null -ne $binding.CertificateHash) { [BitConverter]::ToString($binding.CertificateHash) } else { $null }
        $wantHash = if ($null -ne $want.hash) { [BitConverter]::ToString($want.hash) } else { $null }
        $binding.Protocol -eq $want.protocol -and $binding.BindingInformation -eq $want.information -and $hash -eq $wantHash -and
            ($null -eq $want.store -or $binding.CertificateStoreName -eq $want.store)
    }
    foreach ($binding in @($site.Bindings)) {
        if (@($wanted | Where-Object { & $same $binding $_ }).Count -eq 0) {
            $site.Bindings.Remove($binding)
        }
    }
    foreach ($want in $wanted) {
        if (@(@($site.Bindings) | Where-Object { & $same $_ $want }).Count -eq 0) {
            if ($want.protocol -eq 'https') {
                $site.Bindings.Add($want.information, $want.hash, $want.store) | Out-Null
            } else {
                $site.Bindings.Add($want.information, 'http') | Out-Null
            }
        }
    }
    $manager.CommitChanges()
    Save-DriftRecord $in.drift
    Write-StepResult ([ordered]@{ siteName = $in.siteName; created = $created })
} catch {
    Stop-Step $step $_.Exception.Message
}
