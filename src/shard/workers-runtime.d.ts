// The few Cloudflare Workers runtime types the sharded Worker uses (the project does not depend on @cloudflare/workers-types).
declare module "cloudflare:workers" {
  export class DurableObject<Env = unknown> {
    protected ctx: unknown;
    protected env: Env;
    constructor(ctx: unknown, env: Env);
  }
}
