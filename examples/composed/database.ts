// A PostgreSQL container for the Identity Service's client store, on the platform's private network.
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import * as random from "@pulumi/random";

export interface IdentityDatabaseArgs {
    /** The private network the database joins. */
    network: docker.Network;
    /** Host port on the Docker host's loopback interface, for maintenance over an SSH tunnel. */
    maintenancePort: number;
}

export class IdentityDatabase extends pulumi.ComponentResource {
    /** The connection string the Identity Service uses on the private network. */
    public readonly connectionString: pulumi.Output<string>;
    /** The same database through the maintenance port (an SSH tunnel to the Docker host forwards it here). */
    public readonly maintenanceConnectionString: pulumi.Output<string>;

    constructor(name: string, args: IdentityDatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("creatio-platform:index:IdentityDatabase", name, {}, opts);
        const password = new random.RandomPassword(`${name}-password`, { length: 24, special: false }, { parent: this });
        const image = new docker.RemoteImage(`${name}-image`, { name: "postgres:16", keepLocally: true }, { parent: this });
        const container = new docker.Container(
            `${name}-container`,
            {
                name,
                image: image.imageId,
                envs: pulumi.secret(password.result.apply(value => [`POSTGRES_PASSWORD=${value}`, "POSTGRES_USER=identity", "POSTGRES_DB=identity"])),
                networksAdvanced: [{ name: args.network.name, aliases: [name] }],
                ports: [{ internal: 5432, external: args.maintenancePort, ip: "127.0.0.1" }],
                restart: "unless-stopped",
            },
            { parent: this },
        );
        const connection = (server: pulumi.Input<string>, port: number) =>
            pulumi.secret(pulumi.interpolate`Server=${server};Port=${port};Database=identity;User ID=identity;Password=${password.result};`);
        this.connectionString = connection(container.name, 5432);
        this.maintenanceConnectionString = connection("127.0.0.1", args.maintenancePort);
        this.registerOutputs({ connectionString: this.connectionString, maintenanceConnectionString: this.maintenanceConnectionString });
    }
}
