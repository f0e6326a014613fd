// Creatio's Identity Service behind a reverse proxy that terminates TLS: nginx, in a container on a private Docker
// network, serves https://<publicHostname> with your certificate and forwards to the service over plain HTTP. The
// service publishes its own port on 127.0.0.1 only, where the readiness gate on this machine (the Docker host)
// reaches it: behind the proxy it trusts forwarded headers from every sender, so nothing else may reach it directly.
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { DatabaseProvider, DeploymentTarget, IdentityService } from "creatio-identity-service";

const config = new pulumi.Config();
// The host name Creatio (and DNS) know the proxy by, for example ids.example.com; the certificate must name it.
const publicHostname = config.require("publicHostname");
const httpsPort = config.getNumber("httpsPort") ?? 443;
// Creatio's OAuth20IdentityServerUrl, and the issuer the service must advertise: a default port is left out.
const proxyUrl = httpsPort === 443 ? `https://${publicHostname}` : `https://${publicHostname}:${httpsPort}`;
// The container's name, and so its host name on the network, where the proxy forwards to.
const serviceName = "identity-service";

const network = new docker.Network("identity", { name: "identity" });

const identityService = new IdentityService("identity-service", {
    target: DeploymentTarget.Docker,
    // 8.3.1 and later also get ForceHttpsSchemeInRequests set to true; earlier versions rely on forwarded headers.
    creatioVersion: config.get("creatioVersion") ?? "8.3.1",
    database: { provider: DatabaseProvider.Postgres, connectionString: config.requireSecret("connectionString") },
    client: { creatioUrl: config.get("creatioUrl") },
    // Your own .pfx, if you have one; otherwise the package generates a signing certificate for this instance.
    signingCertificate: config.get("signingCertificatePath") ? { path: config.require("signingCertificatePath") } : undefined,
    docker: {
        build: { context: config.require("identityServiceFolder") },
        containerName: serviceName,
        httpPort: 8090,
        bindAddress: "127.0.0.1",
        networks: [network.name],
    },
    // With a publicUrl on another scheme and host than `url` (http://localhost:8090), the service is started with
    // ASPNETCORE_FORWARDEDHEADERS_ENABLED=true, and the readiness gate checks that it advertises publicUrl as its
    // issuer when asked as the proxy below forwards Creatio's requests.
    publicUrl: proxyUrl,
});

// The proxy: the original Host header (the service builds its issuer from it) and X-Forwarded-Proto (the scheme),
// the upstream looked up through Docker's DNS on each request, so that a replaced container is found again.
const nginxConfiguration = `server {
    listen 443 ssl;
    server_name ${publicHostname};
    ssl_certificate /etc/nginx/tls/server.crt;
    ssl_certificate_key /etc/nginx/tls/server.key;
    resolver 127.0.0.11 valid=10s;
    location / {
        set $upstream http://${serviceName}:80;
        proxy_pass $upstream;
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
}
`;

const proxyImage = new docker.RemoteImage("proxy", { name: config.get("proxyImage") ?? "nginx:1.27", keepLocally: true });
const proxy = new docker.Container(
    "proxy",
    {
        name: "identity-service-proxy",
        image: proxyImage.imageId,
        networksAdvanced: [{ name: network.name }],
        ports: [{ internal: 443, external: httpsPort }],
        // The official image includes /etc/nginx/conf.d/*.conf; this file replaces its default server.
        uploads: pulumi.secret([
            { file: "/etc/nginx/conf.d/default.conf", content: nginxConfiguration },
            { file: "/etc/nginx/tls/server.crt", content: config.require("tlsCertificate") },
            { file: "/etc/nginx/tls/server.key", content: config.requireSecret("tlsKey") },
        ]),
        restart: "unless-stopped",
    },
    { dependsOn: [identityService] },
);

export const url = identityService.url;
export const publicUrl = identityService.publicUrl;
export const proxyContainer = proxy.name;
export const creatioSystemSettings = identityService.creatioSystemSettings;
