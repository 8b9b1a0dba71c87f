CREATE TABLE "request_metrics" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "request_metrics_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"ts" bigint NOT NULL,
	"endpoint" text NOT NULL,
	"model" text,
	"k" integer,
	"status" integer NOT NULL,
	"embed_ms" double precision,
	"lvm_ms" double precision,
	"search_ms" double precision,
	"total_ms" double precision NOT NULL,
	"runtime" text NOT NULL,
	"backend" text
);
--> statement-breakpoint
CREATE INDEX "request_metrics_ts_idx" ON "request_metrics" USING btree ("ts");