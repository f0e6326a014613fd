# Readiness gate of the IIS target: the PowerShell port of src/scripts/readiness.js, run on the Windows host
# itself against the site on localhost. Same settings, same exit codes, same messages; the settings travel in
# the one JSON document on standard input instead of the environment (OpenSSH passes no environment by default).
#
# Exit codes:
#   0  ready: prints one JSON line, e.g. {"issuer":"...","issuerVerified":true,"tokenVerified":true,"elapsedMs":1234}
#   1  not ready before the timeout: one paragraph on stderr (URL, timeout, last thing seen, what to check)
#   2  bad configuration: one line on stderr naming the setting and the fix
# Standard input: {"IDENTITY_SERVICE_URL": "http://localhost:8090", "IDENTITY_SERVICE_CLIENT_ID": "...",
#   "READINESS_TIMEOUT_SECONDS": "300", "READINESS_VERIFY_TOKEN": "true", "READINESS_POLL_INTERVAL_MS": "200",
#   "READINESS_TOKEN_SCOPES": "<scopes the token request asks for, space-separated>",
#   "IDENTITY_SERVICE_PUBLIC_URL": "<the URL Creatio uses; default IDENTITY_SERVICE_URL>", "READINESS_VERIFY_ISSUER": "true",
#   "READINESS_CA_CERTIFICATE": "<PEM of a CA to trust besides the machine's roots>", "clientSecret": "..."}.
#   The secret is never printed and never put in a message.
#
# Step 1 polls GET <url>/.well-known/openid-configuration until it returns 2xx JSON with an issuer.
# Step 2 (unless READINESS_VERIFY_ISSUER is "false") polls until the service advertises the public URL as its issuer,
# as Creatio's discovery client requires (equal ignoring case and a trailing slash). The service builds the issuer
# from the request (its scheme, after forwarded headers and ForceHttpsSchemeInRequests, and its Host header), and
# this check reaches the site on localhost: when the public URL has another scheme, host or port, the request is
# made the way a proxy forwards Creatio's request, with the public URL's host in Host and its scheme in
# X-Forwarded-Proto (HttpWebRequest.Host, .NET Framework 4.0 and later).
# Step 3 (unless READINESS_VERIFY_TOKEN is "false") requests a client_credentials token from the path of the
# discovery document's token_endpoint at <url> (or <url>/connect/token) until it returns an access_token: the
# advertised address carries the public scheme and host, which this machine may not reach the way it reaches <url>.
# The steps share one deadline; each HTTP attempt is bounded by min(5 s, time left).
# For an https URL the certificate must be trusted by the machine, or be the one the site was given
# ("certificateThumbprint" on stdin: a self-signed certificate is then accepted by its thumbprint), or chain to a CA of
# READINESS_CA_CERTIFICATE (the chain built with those CAs, its root one of them by thumbprint); nothing else. A
# host name mismatch is accepted, because the check runs against localhost while the certificate names the public
# host.
# JSON (standard input, and the answers, which hold a token) is read with the step library's .NET parser, never a
# cmdlet that module logging would record; the one line of output is ASCII JSON (see step-library.ps1).
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false

$maxAttemptMs = 5000
$maxDetailChars = 200
$secret = ''
$scopes = ''

# Bad configuration: the message names the setting and the fix (exit 2).
function Fail-Config([string] $message) {
    $exception = New-Object System.Exception($message)
    $exception.Data['readinessConfiguration'] = $true
    throw $exception
}

function Protect-Text([string] $text) {
    if ($secret) {
        return $text.Replace($secret, '[redacted]')
    }
    return $text
}

function Get-Setting($settings, [string] $name) {
    $value = $settings.$name
    if ($null -eq $value) {
        return ''
    }
    return ([string]$value).Trim()
}

function Read-BaseUrl([string] $value, [string] $name = 'IDENTITY_SERVICE_URL') {
    if ($value -eq '') {
        Fail-Config "$name is not set: set it to the service's base URL without a trailing slash, e.g. http://localhost:8090."
    }
    $parsed = $null
    if (-not [System.Uri]::TryCreate($value, [System.UriKind]::Absolute, [ref]$parsed) -or ($parsed.Scheme -ne 'http' -and $parsed.Scheme -ne 'https')) {
        Fail-Config "$name is not an http(s) URL (got `"$value`"): set it to the service's base URL, e.g. http://localhost:8090."
    }
    return $value.TrimEnd('/')
}

# The CA certificates of a PEM text (every CERTIFICATE block), for the certificate check.
function Read-CaCertificates([string] $pem) {
    $blocks = [regex]::Matches($pem, '-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----')
    if ($blocks.Count -eq 0) {
        Fail-Config 'READINESS_CA_CERTIFICATE is not a PEM certificate: give the CA certificate''s text, starting with -----BEGIN CERTIFICATE-----.'
    }
    $certificates = @()
    foreach ($block in $blocks) {
        try {
            $bytes = [System.Convert]::FromBase64String(($block.Groups[1].Value -replace '\s', ''))
            $certificates += New-Object System.Security.Cryptography.X509Certificates.X509Certificate2 -ArgumentList (, $bytes)
        } catch {
            Fail-Config "READINESS_CA_CERTIFICATE holds a certificate that cannot be read ($($_.Exception.Message)): give the CA certificate as PEM."
        }
    }
    return $certificates
}

# The certificate check, in C#: .NET calls it during the TLS handshake on a thread of its own (PowerShell 7), where a
# PowerShell script block cannot run ("There is no Runspace available to run scripts in this thread"). C# 5 only, as
# Windows PowerShell 5.1 compiles it. A certificate passes when the machine trusts it (a host name mismatch forgiven:
# the check runs against localhost), when it is the site's own (TrustedThumbprint), or when its chain builds to one of
# Authorities: built with them as extra certificates, ending in one of them (compared by thumbprint, since the machine
# does not trust them) and without any fault but that untrusted root. Revocation is not checked, as a private CA often
# publishes no list this server can reach (Node's `ca` option does not check it either); signature, validity and usage
# are.
$certificateCheck = @'
using System;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace CreatioIdentityServiceReadiness
{
    public static class CertificateCheck
    {
        public static string TrustedThumbprint = "";
        public static readonly X509Certificate2Collection Authorities = new X509Certificate2Collection();

        // Set on ServicePointManager by the script: naming that obsolete class here fails the compilation on .NET.
        public static readonly RemoteCertificateValidationCallback Callback = Validate;

        // The same check as HttpClientHandler.ServerCertificateCustomValidationCallback (its first parameter, the
        // request, taken as object, so that this compiles without System.Net.Http on the .NET Framework).
        public static readonly Func<object, X509Certificate2, X509Chain, SslPolicyErrors, bool> HandlerCallback =
            delegate(object request, X509Certificate2 certificate, X509Chain chain, SslPolicyErrors errors) { return Validate(request, certificate, chain, errors); };

        public static bool Validate(object sender, X509Certificate certificate, X509Chain chain, SslPolicyErrors errors)
        {
            if (certificate == null)
            {
                return false;
            }
            if (TrustedThumbprint.Length > 0 && string.Equals(certificate.GetCertHashString(), TrustedThumbprint, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
            SslPolicyErrors remaining = errors & ~SslPolicyErrors.RemoteCertificateNameMismatch;
            if (remaining == SslPolicyErrors.None)
            {
                return true;
            }
            return remaining == SslPolicyErrors.RemoteCertificateChainErrors && Authorities.Count > 0 && ChainsToAuthority(new X509Certificate2(certificate));
        }

        public static bool ChainsToAuthority(X509Certificate2 leaf)
        {
            using (X509Chain own = new X509Chain())
            {
                own.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                own.ChainPolicy.VerificationFlags = X509VerificationFlags.AllowUnknownCertificateAuthority;
                own.ChainPolicy.ExtraStore.AddRange(Authorities);
                if (!own.Build(leaf))
                {
                    return false;
                }
                X509Certificate2 root = own.ChainElements[own.ChainElements.Count - 1].Certificate;
                bool known = false;
                foreach (X509Certificate2 authority in Authorities)
                {
                    known = known || string.Equals(authority.Thumbprint, root.Thumbprint, StringComparison.OrdinalIgnoreCase);
                }
                if (!known)
                {
                    return false;
                }
                foreach (X509ChainStatus status in own.ChainStatus)
                {
                    if (status.Status != X509ChainStatusFlags.UntrustedRoot)
                    {
                        return false;
                    }
                }
                return true;
            }
        }
    }
}
'@

function Read-Boolean([string] $name, [string] $value, [bool] $fallback) {
    switch ($value.ToLowerInvariant()) {
        '' { return $fallback }
        'true' { return $true }
        'false' { return $false }
    }
    Fail-Config "$name must be `"true`" or `"false`" (got `"$value`")."
}

function Read-PositiveNumber([string] $name, [string] $value, [double] $fallback, [string] $example) {
    if ($value -eq '') {
        return $fallback
    }
    $number = 0.0
    if (-not [double]::TryParse($value, [System.Globalization.NumberStyles]::Float, [System.Globalization.CultureInfo]::InvariantCulture, [ref]$number) -or $number -le 0 -or [double]::IsInfinity($number)) {
        Fail-Config "$name must be a positive number (got `"$value`"): set it to $example, or leave it unset for the default."
    }
    return $number
}

function Get-Short([string] $text) {
    $oneLine = ([regex]::Replace([string]$text, '[\u0000-\u001f\u007f]+', ' ')).Trim()
    if ($oneLine.Length -gt $maxDetailChars) {
        return $oneLine.Substring(0, $maxDetailChars) + '...'
    }
    return $oneLine
}

function ConvertFrom-JsonOrNull([string] $text) {
    if ([string]::IsNullOrWhiteSpace($text)) {
        return @{ ok = $false }
    }
    try {
        return @{ ok = $true; value = (ConvertFrom-StepJson $text) }
    } catch {
        return @{ ok = $false }
    }
}

function Test-JsonObject($value) {
    return $value -is [hashtable]
}

$networkCodes = @{
    ConnectionRefused = @('ECONNREFUSED', 'connection refused')
    ConnectionReset = @('ECONNRESET', 'connection reset')
    HostNotFound = @('ENOTFOUND', 'host name not found')
    TryAgain = @('EAI_AGAIN', 'host name lookup failed')
    HostUnreachable = @('EHOSTUNREACH', 'host unreachable')
    NetworkUnreachable = @('ENETUNREACH', 'network unreachable')
    TimedOut = @('ETIMEDOUT', 'connection timed out')
}

# Turns a failed request into what was seen: a timeout, a TLS error or a network error (with its code).
function Get-FailureSeen($exception, [int] $timeoutMs) {
    $status = if ($exception -is [System.Net.WebException]) { [string]$exception.Status } else { '' }
    if ($status -eq 'Timeout') {
        return @{ kind = 'timeout'; detail = "no answer within $timeoutMs ms" }
    }
    if ($status -eq 'TrustFailure' -or $status -eq 'SecureChannelFailure') {
        return @{ kind = 'tls'; detail = "TLS error: $status ($(Get-Short $exception.Message))" }
    }
    # .NET (PowerShell 7) reports a refused certificate as an AuthenticationException inside the WebException.
    for ($inner = $exception; $null -ne $inner; $inner = $inner.InnerException) {
        if ($inner -is [System.Security.Authentication.AuthenticationException]) {
            return @{ kind = 'tls'; detail = "TLS error: $(Get-Short $inner.Message)" }
        }
    }
    for ($inner = $exception; $null -ne $inner; $inner = $inner.InnerException) {
        if ($inner -is [System.Net.Sockets.SocketException]) {
            $name = [string]$inner.SocketErrorCode
            $known = $networkCodes[$name]
            if ($null -ne $known) {
                return @{ kind = 'network'; code = $known[0]; detail = "$($known[0]) ($($known[1]))" }
            }
            return @{ kind = 'network'; code = $name; detail = $name }
        }
    }
    return @{ kind = 'network'; detail = (Get-Short $exception.Message) }
}

# One HTTP exchange bounded by $timeoutMs: @{ response = @{ status; reason; contentType; text } } or @{ error }.
# $forwarded: @{ host; proto } to send as a proxy forwards a request (Host and X-Forwarded-Proto), or $null.
function Invoke-Exchange([string] $method, [string] $url, [string] $body, [int] $timeoutMs, $forwarded = $null) {
    # HttpWebRequest lives in System.Net.Requests on .NET, in System on the .NET Framework.
    if ($null -ne $forwarded -and [System.Net.HttpWebRequest].Assembly.GetName().Name -ne 'System') {
        return Invoke-ForwardedGet $url $timeoutMs $forwarded
    }
    try {
        $request = [System.Net.HttpWebRequest]::Create($url)
        $request.Method = $method
        $request.Accept = 'application/json'
        $request.Timeout = $timeoutMs
        $request.ReadWriteTimeout = $timeoutMs
        $request.Proxy = $null
        if ($null -ne $forwarded) {
            # Host is a restricted header: only the property sets it (Headers.Add refuses it).
            $request.Host = $forwarded.host
            $request.Headers.Add('X-Forwarded-Proto', $forwarded.proto)
        }
        if ($body) {
            $bytes = [System.Text.Encoding]::UTF8.GetBytes($body)
            $request.ContentType = 'application/x-www-form-urlencoded'
            $stream = $request.GetRequestStream()
            $stream.Write($bytes, 0, $bytes.Length)
            $stream.Close()
        }
        try {
            $response = $request.GetResponse()
        } catch {
            # A non-2xx answer arrives as a WebException that carries the response.
            $failure = $_.Exception
            while ($failure -is [System.Management.Automation.MethodInvocationException] -and $null -ne $failure.InnerException) {
                $failure = $failure.InnerException
            }
            if (-not ($failure -is [System.Net.WebException]) -or $null -eq $failure.Response) {
                throw
            }
            $response = $failure.Response
        }
        # Read what is needed before closing: a closed response throws on every property (ObjectDisposedException).
        $seen = @{ status = [int]$response.StatusCode; reason = $response.StatusDescription; contentType = $response.ContentType }
        $reader = New-Object System.IO.StreamReader($response.GetResponseStream(), [System.Text.Encoding]::UTF8)
        $seen.text = $reader.ReadToEnd()
        $response.Close()
        return @{ response = $seen }
    } catch {
        $exception = $_.Exception
        while ($exception -is [System.Management.Automation.MethodInvocationException] -and $null -ne $exception.InnerException) {
            $exception = $exception.InnerException
        }
        return @{ error = (Get-FailureSeen $exception $timeoutMs) }
    }
}

# A GET sent as a proxy forwards it, on .NET (PowerShell 7): there HttpWebRequest writes Host with the port of its own
# URI whenever the address it connects to has a port that is not its scheme's default (dotnet/runtime
# src/libraries/System.Net.Requests/src/System/Net/HttpWebRequest.cs, the Host getter), while the .NET Framework of
# Windows PowerShell 5.1 writes it as given; HttpClient writes it as given on both.
function Invoke-ForwardedGet([string] $url, [int] $timeoutMs, $forwarded) {
    $handler = New-Object System.Net.Http.HttpClientHandler
    $handler.UseProxy = $false
    $handler.ServerCertificateCustomValidationCallback = [CreatioIdentityServiceReadiness.CertificateCheck]::HandlerCallback
    $client = New-Object System.Net.Http.HttpClient($handler)
    try {
        $client.Timeout = [TimeSpan]::FromMilliseconds($timeoutMs)
        $request = New-Object System.Net.Http.HttpRequestMessage([System.Net.Http.HttpMethod]::Get, $url)
        $request.Headers.Host = $forwarded.host
        $request.Headers.Add('X-Forwarded-Proto', $forwarded.proto)
        $request.Headers.Add('Accept', 'application/json')
        $response = $client.SendAsync($request).GetAwaiter().GetResult()
        $type = $response.Content.Headers.ContentType
        $seen = @{ status = [int]$response.StatusCode; reason = $response.ReasonPhrase; contentType = $(if ($null -ne $type) { $type.ToString() } else { '' }) }
        $seen.text = $response.Content.ReadAsStringAsync().GetAwaiter().GetResult()
        return @{ response = $seen }
    } catch {
        $exception = $_.Exception
        while ($exception -is [System.Management.Automation.MethodInvocationException] -and $null -ne $exception.InnerException) {
            $exception = $exception.InnerException
        }
        if ($exception -is [System.Threading.Tasks.TaskCanceledException]) {
            return @{ error = @{ kind = 'timeout'; detail = "no answer within $timeoutMs ms" } }
        }
        return @{ error = (Get-FailureSeen $exception $timeoutMs) }
    } finally {
        $client.Dispose()
    }
}

function Get-StatusText($response) {
    $reason = if ($response.reason) { ' ' + (Get-Short $response.reason) } else { '' }
    return "HTTP $($response.status)$reason"
}

function Test-Discovery([string] $discoveryUrl, [int] $timeoutMs, $forwarded = $null) {
    $exchange = Invoke-Exchange 'GET' $discoveryUrl '' $timeoutMs $forwarded
    if ($exchange.error) {
        return @{ ok = $false; seen = $exchange.error }
    }
    $response = $exchange.response
    if ($response.status -lt 200 -or $response.status -gt 299) {
        return @{ ok = $false; seen = @{ kind = 'http'; status = $response.status; detail = (Get-StatusText $response) } }
    }
    $json = ConvertFrom-JsonOrNull $response.text
    if (-not $json.ok) {
        $type = if ($response.contentType) { " (content-type $(Get-Short $response.contentType))" } else { '' }
        return @{ ok = $false; seen = @{ kind = 'not-json'; status = $response.status; detail = "$(Get-StatusText $response) but the response was not JSON$type" } }
    }
    $document = $json.value
    if (-not (Test-JsonObject $document) -or -not ($document.issuer -is [string]) -or $document.issuer.Trim() -eq '') {
        return @{ ok = $false; seen = @{ kind = 'no-issuer'; status = $response.status; detail = "$(Get-StatusText $response) but the JSON had no issuer" } }
    }
    return @{ ok = $true; document = $document }
}

# The token endpoint: the path of the advertised token_endpoint at the address this check reaches the service at (the
# advertised URL carries the public scheme and host), else <url>/connect/token.
function Resolve-TokenEndpoint([string] $baseUrl, $document) {
    $advertised = $document.token_endpoint
    if ($advertised -is [string] -and $advertised.Trim() -ne '') {
        $base = New-Object System.Uri($baseUrl + '/')
        $resolved = $null
        if ([System.Uri]::TryCreate($base, $advertised.Trim(), [ref]$resolved) -and ($resolved.Scheme -eq 'http' -or $resolved.Scheme -eq 'https')) {
            return (New-Object System.Uri($base, $resolved.PathAndQuery)).AbsoluteUri
        }
    }
    return $baseUrl + '/connect/token'
}

# A URL as a client addresses it and as IdentityServer4 writes its issuer: scheme and host lower-cased, no default
# port (a client leaves it out of Host), the path without a trailing slash.
function Get-CanonicalUrl([string] $value) {
    $parsed = New-Object System.Uri($value)
    return $parsed.Scheme + '://' + $parsed.Authority + $parsed.AbsolutePath.TrimEnd('/')
}

# IdentityModel's issuer name check: equal ignoring case and a trailing slash.
function Test-SameIssuer([string] $advertised, [string] $expected) {
    return $advertised.TrimEnd('/').ToLowerInvariant() -eq $expected.TrimEnd('/').ToLowerInvariant()
}

# What a proxy in front of the service sends it for a request to the public URL: the original Host (without a default
# port) and the scheme the client used. $null when the public URL has the scheme, host and port of <url>.
function Get-ForwardedHeaders([string] $baseUrl, [string] $publicUrl) {
    $base = New-Object System.Uri($baseUrl)
    $target = New-Object System.Uri($publicUrl)
    if ($base.Scheme -eq $target.Scheme -and $base.Host -eq $target.Host -and $base.Port -eq $target.Port) {
        return $null
    }
    return @{ host = $target.Authority; proto = $target.Scheme }
}

# One look at the issuer the service advertises to Creatio: ok when it is the public URL; otherwise what was seen.
function Test-Issuer([string] $baseUrl, [string] $publicUrl, [int] $timeoutMs) {
    $forwarded = Get-ForwardedHeaders $baseUrl $publicUrl
    $probe = Test-Discovery ($baseUrl + '/.well-known/openid-configuration') $timeoutMs $forwarded
    if (-not $probe.ok) {
        return $probe
    }
    $expected = Get-CanonicalUrl $publicUrl
    $advertised = $probe.document.issuer
    if (Test-SameIssuer $advertised $expected) {
        return @{ ok = $true; issuer = $advertised }
    }
    $shown = Get-Short $advertised
    return @{ ok = $false; seen = @{ kind = 'issuer'; issuer = $shown; expected = $expected; forwarded = ($null -ne $forwarded); detail = "the issuer $shown, not $expected" } }
}

function Request-Token([string] $tokenEndpoint, [string] $clientId, [int] $timeoutMs) {
    $body = 'grant_type=client_credentials&client_id=' + [System.Uri]::EscapeDataString($clientId) + '&client_secret=' + [System.Uri]::EscapeDataString($secret)
    if ($scopes -ne '') {
        $body += '&scope=' + [System.Uri]::EscapeDataString($scopes)
    }
    $exchange = Invoke-Exchange 'POST' $tokenEndpoint $body $timeoutMs
    if ($exchange.error) {
        return @{ ok = $false; seen = $exchange.error }
    }
    $response = $exchange.response
    $json = ConvertFrom-JsonOrNull $response.text
    $is2xx = $response.status -ge 200 -and $response.status -le 299
    $isObject = $json.ok -and (Test-JsonObject $json.value)
    if ($is2xx -and $isObject -and $json.value.access_token -is [string] -and $json.value.access_token -ne '') {
        return @{ ok = $true }
    }
    $oauthError = if ($isObject -and $json.value.error -is [string]) { Get-Short $json.value.error } else { $null }
    $detail = Get-StatusText $response
    if ($oauthError) {
        $detail += " with error `"$oauthError`""
    } elseif ($is2xx) {
        $why = if (-not $json.ok) { ' but the response was not JSON' } else { ' but no access_token' }
        $detail += $why
    }
    $kind = if ($is2xx) { 'no-token' } else { 'http' }
    return @{ ok = $false; seen = @{ kind = $kind; status = $response.status; oauthError = $oauthError; detail = $detail } }
}

# Calls $attempt with the time budget of one attempt until it succeeds or the deadline passes. An attempt that only
# timed out because the deadline cut it short does not hide what an earlier attempt saw.
function Wait-Until([double] $deadline, [double] $pollIntervalMs, [scriptblock] $attempt) {
    $last = @{ ok = $false; seen = @{ kind = 'none'; detail = 'no attempt was made before the deadline' } }
    while ($true) {
        $remaining = $deadline - $clock.Elapsed.TotalMilliseconds
        if ($remaining -le 0) {
            return $last
        }
        $budget = [int][Math]::Max(1, [Math]::Min($maxAttemptMs, [Math]::Floor($remaining)))
        $result = & $attempt $budget
        if ($result.ok) {
            return $result
        }
        $cutShort = $result.seen.kind -eq 'timeout' -and $budget -lt $maxAttemptMs
        if (-not $cutShort -or $last.seen.kind -eq 'none') {
            $last = $result
        }
        $left = $deadline - $clock.Elapsed.TotalMilliseconds
        if ($left -le 0) {
            return $last
        }
        Start-Sleep -Milliseconds ([int][Math]::Ceiling([Math]::Min($pollIntervalMs, $left)))
    }
}

function Format-Seconds([double] $ms) {
    $seconds = $ms / 1000
    if ($seconds -eq [Math]::Floor($seconds)) {
        return "$seconds s"
    }
    return $seconds.ToString('0.0', [System.Globalization.CultureInfo]::InvariantCulture) + ' s'
}

# What to change when the service advertises another issuer than the URL Creatio uses: by what differs, the scheme
# (forwarded headers, ForceHttpsSchemeInRequests), the host (the Host header the proxy passes) or the path.
function Get-IssuerAdvice($lastSeen) {
    $advertised = $null
    if (-not [System.Uri]::TryCreate([string]$lastSeen.issuer, [System.UriKind]::Absolute, [ref]$advertised)) {
        return 'The advertised issuer is not a URL: check what answers at this address.'
    }
    $expected = New-Object System.Uri($lastSeen.expected)
    $asked = if ($lastSeen.forwarded) { "This check asked the service the way a proxy forwards Creatio's request (Host: $($expected.Authority), X-Forwarded-Proto: $($expected.Scheme)). " } else { '' }
    if ($advertised.Scheme -ne $expected.Scheme) {
        if ($expected.Scheme -eq 'https') {
            return $asked +
                'The service does not know that Creatio reaches it over https, as it does behind a proxy or load balancer that terminates TLS: ' +
                'turn on forwarded headers (proxy.forwardedHeaders, on by default when publicUrl differs from url; Creatio 8.0.8 and later) and have the proxy set X-Forwarded-Proto, ' +
                'or from Creatio 8.3.1 set forceHttpsSchemeInRequests to true; or give publicUrl with the scheme Creatio really uses.'
        }
        return $asked +
            'The service advertises https while Creatio is given an http URL: ForceHttpsSchemeInRequests (true by default in the service from Creatio 8.3.1) or an X-Forwarded-Proto of https makes it do so. ' +
            'Give publicUrl with https if Creatio reaches the service over https, or set forceHttpsSchemeInRequests to false.'
    }
    if ($advertised.Authority -ne $expected.Authority) {
        return $asked +
            'The service takes the host from the request''s Host header and reads no X-Forwarded-Host: ' +
            'the proxy must pass the original Host header (nginx: proxy_set_header Host $http_host; HAProxy passes it unchanged), and publicUrl must be the address Creatio uses.'
    }
    return $asked +
        'The service answers at the root of its host: its issuer and endpoints never carry a path, and it reads no path prefix from a proxy. ' +
        'Give the service a host name (or port) of its own at the proxy and set publicUrl to it, without a path.'
}

function Get-Advice($lastSeen, [string] $clientId) {
    $kind = $lastSeen.kind
    $status = $lastSeen.status
    if ($lastSeen.phase -eq 'issuer' -and $kind -eq 'issuer') {
        return Get-IssuerAdvice $lastSeen
    }
    if ($lastSeen.phase -eq 'discovery' -or $lastSeen.phase -eq 'issuer') {
        if ($kind -eq 'tls') {
            return 'Check the certificate the site presents (trusted, matching the host name), or use the http:// address for a local check.'
        }
        if ($kind -eq 'http' -and $status -ge 500) {
            return 'The service answers but fails: read its logs (docker logs for the container, the stdout log of the IIS site); a database connection or configuration error at startup is the usual cause.' +
                ' On IIS, HTTP 500.30-500.37 right after installing the hosting bundle means IIS has not been restarted since: run net stop was /y, then net start w3svc.'
        }
        if ($kind -eq 'http' -or $kind -eq 'not-json' -or $kind -eq 'no-issuer') {
            return 'Something answers at this address but it is not the Identity Service''s discovery endpoint: check the URL (host, port, virtual directory) and the port mapping, and that no proxy or default site answers instead.'
        }
        return 'The discovery endpoint never answered: check that the container or IIS site is running, that the port is mapped (published) to this address, and the service logs for a startup failure.'
    }
    $client = if ($clientId) { " for client `"$clientId`"" } else { '' }
    $oauthError = $lastSeen.oauthError
    if ($kind -eq 'http' -and ($oauthError -eq 'invalid_client' -or $status -eq 401 -or ($status -eq 400 -and -not $oauthError))) {
        return "The token endpoint rejected the credentials${client}: either the client id or secret stored in the Identity Service database differs from the configuration, " +
            'or the service dropped the client because it rejects its configuration (it then logs "Invalid client configuration for client" with the reason at Error level, for example an implicit client without redirect URIs). ' +
            'The package keeps the client rows equal to the configuration unless client.reseed is false or database.reseedConnectionString names another database than the service uses: correct that setting and run pulumi up again, or delete the client''s rows (Clients, ClientScopes, ClientSecrets, ClientClaims) yourself and restart the service so it inserts the configured client.'
    }
    if ($kind -eq 'http' -and $oauthError -eq 'invalid_scope') {
        return "The token endpoint refused the scopes ${scopes}${client}: each scope Creatio asks for must be in the client's AllowedScopes (the ClientScopes rows) and be an enabled API scope of the service (the ApiScopes rows). " +
            'Check that the stored client matches its configuration (re-seeding keeps it so unless client.reseed is false) and that this service version knows those scopes; Creatio asks for them in its own token requests.'
    }
    if ($kind -eq 'http' -and $status -ge 500) {
        return 'The token endpoint fails: read the service logs and check its database connection.'
    }
    if ($kind -eq 'http' -and $oauthError) {
        return "The client${client} exists but the request was refused (${oauthError}): check that the client is allowed the client_credentials grant and its scopes in the Identity Service database, then restart the service."
    }
    if ($kind -eq 'http' -and $status -eq 404) {
        return 'The token endpoint was not found: check the token_endpoint the discovery document advertises and the service''s base path.'
    }
    if ($kind -eq 'network' -or $kind -eq 'timeout' -or $kind -eq 'tls') {
        return 'The token endpoint could not be reached from here: check that the token_endpoint in the discovery document (derived from the service''s public URL) is reachable from where this check runs.'
    }
    return 'Check the service logs for the token request.'
}

function Format-TimeoutMessage([string] $url, [double] $timeoutMs, [string] $clientId, $lastSeen) {
    if ($lastSeen.phase -eq 'issuer' -and $lastSeen.kind -eq 'issuer') {
        return "Identity Service at $url was not ready after $(Format-Seconds $timeoutMs): it advertises the issuer $($lastSeen.issuer), " +
            "but Creatio is given $($lastSeen.expected) (publicUrl, or url without one), and Creatio's discovery client requires the issuer to be that URL. " +
            (Get-Advice $lastSeen $clientId)
    }
    $what = switch ($lastSeen.phase) {
        'discovery' { 'discovery document' }
        'issuer' { "discovery document, asked for the issuer Creatio sees at $($lastSeen.publicUrl)," }
        default { 'client_credentials token request' }
    }
    return "Identity Service at $url was not ready after $(Format-Seconds $timeoutMs): " +
        "the $what at $($lastSeen.endpoint) did not succeed; last seen: $($lastSeen.detail). " +
        (Get-Advice $lastSeen $clientId)
}

function Stop-Readiness([string] $text, [int] $code) {
    if ($code -eq 0) {
        [Console]::Out.WriteLine((Protect-Text $text))
    } else {
        [Console]::Error.WriteLine((Protect-Text $text))
    }
    exit $code
}

try {
    $reader = New-Object System.IO.StreamReader([Console]::OpenStandardInput(), (New-Object System.Text.UTF8Encoding $false))
    $rawInput = $reader.ReadToEnd()
    $settings = $null
    try {
        $settings = ConvertFrom-StepJson $rawInput
    } catch {
        Fail-Config 'standard input is not valid JSON: pass the settings and {"clientSecret": "<secret>"} on stdin (the content is not shown here because it may hold the secret).'
    }
    if (-not (Test-JsonObject $settings)) {
        Fail-Config 'standard input must be a JSON object such as {"IDENTITY_SERVICE_URL": "http://localhost:8090", "clientSecret": "<secret>"}.'
    }
    if ($null -ne $settings.clientSecret -and -not ($settings.clientSecret -is [string])) {
        Fail-Config 'clientSecret on standard input must be a string: pass {"clientSecret": "<secret>"}.'
    }
    $secret = if ($settings.clientSecret) { [string]$settings.clientSecret } else { '' }
    $trustedThumbprint = if ($settings.certificateThumbprint -is [string]) { $settings.certificateThumbprint.ToUpperInvariant() } else { '' }
    $url = Read-BaseUrl (Get-Setting $settings 'IDENTITY_SERVICE_URL')
    $verifyToken = Read-Boolean 'READINESS_VERIFY_TOKEN' (Get-Setting $settings 'READINESS_VERIFY_TOKEN') $true
    $clientId = Get-Setting $settings 'IDENTITY_SERVICE_CLIENT_ID'
    $scopes = ((Get-Setting $settings 'READINESS_TOKEN_SCOPES') -split '\s+' | Where-Object { $_ -ne '' }) -join ' '
    if ($verifyToken -and $clientId -eq '') {
        Fail-Config ('IDENTITY_SERVICE_CLIENT_ID is not set: set it to the client id the service was configured with, ' +
            'or set READINESS_VERIFY_TOKEN=false to skip the token check.')
    }
    $verifyIssuer = Read-Boolean 'READINESS_VERIFY_ISSUER' (Get-Setting $settings 'READINESS_VERIFY_ISSUER') $true
    $publicSetting = Get-Setting $settings 'IDENTITY_SERVICE_PUBLIC_URL'
    $publicUrl = if ($publicSetting -eq '') { $url } else { Read-BaseUrl $publicSetting 'IDENTITY_SERVICE_PUBLIC_URL' }
    $caSetting = Get-Setting $settings 'READINESS_CA_CERTIFICATE'
    $trustedAuthorities = @(if ($caSetting -ne '') { Read-CaCertificates $caSetting })
    $timeoutMs = 1000 * (Read-PositiveNumber 'READINESS_TIMEOUT_SECONDS' (Get-Setting $settings 'READINESS_TIMEOUT_SECONDS') 300 'a number of seconds such as 300')
    $pollIntervalMs = Read-PositiveNumber 'READINESS_POLL_INTERVAL_MS' (Get-Setting $settings 'READINESS_POLL_INTERVAL_MS') 200 'a number of milliseconds such as 200'
    if ($verifyToken -and $secret -eq '') {
        Fail-Config 'clientSecret is missing on standard input: pass {"clientSecret": "<secret>"} on stdin, or set READINESS_VERIFY_TOKEN=false to skip the token check.'
    }

    [System.Net.ServicePointManager]::SecurityProtocol = [System.Net.ServicePointManager]::SecurityProtocol -bor [System.Net.SecurityProtocolType]::Tls12
    Add-Type -TypeDefinition $certificateCheck -Language CSharp
    [CreatioIdentityServiceReadiness.CertificateCheck]::TrustedThumbprint = $trustedThumbprint
    foreach ($authority in $trustedAuthorities) {
        [CreatioIdentityServiceReadiness.CertificateCheck]::Authorities.Add($authority) | Out-Null
    }
    [System.Net.ServicePointManager]::ServerCertificateValidationCallback = [CreatioIdentityServiceReadiness.CertificateCheck]::Callback

    $clock = [System.Diagnostics.Stopwatch]::StartNew()
    $deadline = $timeoutMs
    $discoveryUrl = $url + '/.well-known/openid-configuration'
    $discovery = Wait-Until $deadline $pollIntervalMs { param($budget) Test-Discovery $discoveryUrl $budget }
    if (-not $discovery.ok) {
        $lastSeen = $discovery.seen.Clone()
        $lastSeen.phase = 'discovery'
        $lastSeen.endpoint = $discoveryUrl
        Stop-Readiness ('readiness: ' + (Format-TimeoutMessage $url $timeoutMs $clientId $lastSeen)) 1
    }
    $issuer = $discovery.document.issuer
    if ($verifyIssuer) {
        $checked = Wait-Until $deadline $pollIntervalMs { param($budget) Test-Issuer $url $publicUrl $budget }
        if (-not $checked.ok) {
            $lastSeen = $checked.seen.Clone()
            $lastSeen.phase = 'issuer'
            $lastSeen.endpoint = $discoveryUrl
            $lastSeen.publicUrl = $publicUrl
            Stop-Readiness ('readiness: ' + (Format-TimeoutMessage $url $timeoutMs $clientId $lastSeen)) 1
        }
        $issuer = $checked.issuer
    }
    if ($verifyToken) {
        $tokenEndpoint = Resolve-TokenEndpoint $url $discovery.document
        $token = Wait-Until $deadline $pollIntervalMs { param($budget) Request-Token $tokenEndpoint $clientId $budget }
        if (-not $token.ok) {
            $lastSeen = $token.seen.Clone()
            $lastSeen.phase = 'token'
            $lastSeen.endpoint = $tokenEndpoint
            Stop-Readiness ('readiness: ' + (Format-TimeoutMessage $url $timeoutMs $clientId $lastSeen)) 1
        }
    }
    $result = [ordered]@{ issuer = $issuer; issuerVerified = $verifyIssuer; tokenVerified = $verifyToken; elapsedMs = [int][Math]::Round($clock.Elapsed.TotalMilliseconds) }
    Stop-Readiness (ConvertTo-AsciiJson $result) 0
} catch {
    if ($_.Exception.Data['readinessConfiguration']) {
        Stop-Readiness "readiness: bad configuration: $($_.Exception.Message)" 2
    }
    Stop-Readiness "readiness: unexpected failure: $($_.Exception.Message)" 1
}
