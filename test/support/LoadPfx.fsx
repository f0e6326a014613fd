// Loads a PFX the way an ASP.NET Core service on .NET 6/8 loads its signing certificate (new X509Certificate2(path,
// password)), with no password and with an empty one, and signs with its key as RS256 tokens are signed.
// Prints one JSON line per password. Used by test/certificates.dotnet.test.ts.
#nowarn "44" // the X509Certificate2 constructor is obsolete from .NET 9 on, but it is what the service calls
open System
open System.Security.Cryptography
open System.Security.Cryptography.X509Certificates

let path = fsi.CommandLineArgs.[1]
for password in [ null; "" ] do
    use certificate = new X509Certificate2(path, (password: string))
    use key = certificate.GetRSAPrivateKey()
    let data = Text.Encoding.UTF8.GetBytes("header.payload")
    let signature = key.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
    let verified =
        certificate.GetRSAPublicKey().VerifyData(data, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
    printfn
        "{\"password\":%s,\"thumbprint\":\"%s\",\"hasPrivateKey\":%b,\"keySize\":%d,\"rs256\":%b}"
        (if isNull password then "null" else "\"\"")
        certificate.Thumbprint
        certificate.HasPrivateKey
        key.KeySize
        verified
