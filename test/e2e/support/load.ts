// A steady request load for the rollout tests and benchmarks: one kind of request after another, each on its own
// connection (no keep-alive) and never retried, so that every sample is what one client would have seen.
import * as http from "http";
import * as https from "https";
import * as net from "net";

export interface Sample {
  /** `performance.now()` when the request started and when its answer (or failure) arrived. */
  readonly startedAt: number;
  readonly endedAt: number;
  readonly ok: boolean;
  readonly detail: string;
}

/**
 * One request; rejects when there is no HTTP answer. An https URL's certificate is verified against `ca` (PEM), the
 * CA that issued it, and must be for the URL's host.
 */
export function request(url: string, method = "GET", body?: string, ca?: string): Promise<{ status: number; body: string }> {
  const client = new URL(url).protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(
      url,
      {
        method,
        agent: false,
        timeout: 5000,
        ...(ca === undefined ? {} : { ca }),
        headers: body ? { "content-type": "application/x-www-form-urlencoded", "content-length": Buffer.byteLength(body) } : {},
      },
      response => {
        const chunks: Buffer[] = [];
        response.on("data", chunk => chunks.push(chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        response.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end(body);
  });
}

export function tokenBody(clientId: string, clientSecret: string): string {
  return new URLSearchParams({ grant_type: "client_credentials", client_id: clientId, client_secret: clientSecret }).toString();
}

export async function tokenStatus(url: string, clientId: string, clientSecret: string): Promise<number> {
  return (await request(`${url}/connect/token`, "POST", tokenBody(clientId, clientSecret))).status;
}

/** Requests one after another (20 ms apart) until stopped. */
export class Load {
  readonly samples: Sample[] = [];
  private running = true;
  private readonly loop: Promise<void>;

  constructor(private readonly attempt: () => Promise<{ ok: boolean; detail: string }>) {
    this.loop = (async () => {
      while (this.running) {
        const startedAt = performance.now();
        let outcome: { ok: boolean; detail: string };
        try {
          outcome = await this.attempt();
        } catch (err) {
          outcome = { ok: false, detail: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
        }
        this.samples.push({ startedAt, endedAt: performance.now(), ...outcome });
        await new Promise(resolve => setTimeout(resolve, 20));
      }
    })();
  }

  async stop(): Promise<Sample[]> {
    this.running = false;
    await this.loop;
    return this.samples;
  }

  /** GET of the discovery document; a 200 answer succeeds. `ca`: the CA of an https URL's certificate. */
  static discovery(url: string, ca?: string): Load {
    return new Load(async () => {
      const answer = await request(`${url}/.well-known/openid-configuration`, "GET", undefined, ca);
      return { ok: answer.status === 200, detail: `HTTP ${answer.status}` };
    });
  }

  /** client_credentials token requests; a token (200) succeeds. */
  static token(url: string, clientId: string, clientSecret: string): Load {
    return new Load(async () => {
      const answer = await request(`${url}/connect/token`, "POST", tokenBody(clientId, clientSecret));
      return { ok: answer.status === 200, detail: `HTTP ${answer.status} ${answer.body.slice(0, 60)}` };
    });
  }
}

export function failures(samples: readonly Sample[]): Sample[] {
  return samples.filter(sample => !sample.ok);
}

export function describeFailures(samples: readonly Sample[]): string {
  const failed = failures(samples);
  const kinds = [...new Set(failed.map(s => s.detail))].slice(0, 5);
  return `${failed.length} of ${samples.length} failed${kinds.length > 0 ? `: ${kinds.join("; ")}` : ""}`;
}

/**
 * The longest time without a successful answer: between the end of one successful request and the end of the next
 * (or the first request's start, or the last request's end, at the edges). With every request answered, this is
 * the slowest request plus the 20 ms pause.
 */
export function longestGap(samples: readonly Sample[]): number {
  if (samples.length === 0) return 0;
  let longest = 0;
  let lastSuccess = samples[0].startedAt;
  for (const sample of samples) {
    if (sample.ok) {
      longest = Math.max(longest, sample.endedAt - lastSuccess);
      lastSuccess = sample.endedAt;
    }
  }
  return Math.max(longest, samples[samples.length - 1].endedAt - lastSuccess);
}

/** A TCP port free on loopback now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}
