CREATE TABLE `request_metrics` (
	`id` integer PRIMARY KEY NOT NULL,
	`ts` integer NOT NULL,
	`endpoint` text NOT NULL,
	`model` text,
	`k` integer,
	`status` integer NOT NULL,
	`embed_ms` real,
	`lvm_ms` real,
	`search_ms` real,
	`total_ms` real NOT NULL,
	`runtime` text NOT NULL,
	`backend` text
);
--> statement-breakpoint
CREATE INDEX `request_metrics_ts_idx` ON `request_metrics` (`ts`);