// Generated from the OpenAPI document (/openapi.json) by scripts/openapi-types.mjs with openapi-typescript.
// Do not edit: run `npm run build && npm run client:generate`. CI fails when this file is stale.

export interface paths {
    "/admin/api-keys/{keyId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Revoke an API key, at once. */
        delete: operations["revokeApiKey"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/tenants": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Create a tenant and its first API key (shown once). */
        post: operations["createTenant"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/tenants/{tenantId}/api-keys": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Create another API key for a tenant (shown once). */
        post: operations["createApiKey"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/health/live": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Liveness: the process serves HTTP (no dependency is checked). */
        get: operations["getLiveness"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/health/ready": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Readiness: PostgreSQL and (when configured) Redis answer; 503 otherwise. */
        get: operations["getReadiness"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/agents/{agentId}/runs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Submit a run (queued, executed by a worker). */
        post: operations["createRun"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/replays": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List replay batches, newest first (cursor pagination). */
        get: operations["listReplayBatches"];
        put?: never;
        /**
         * Replay many finished runs with one set of replay options; one report (a verdict per run).
         * @description The items are the finished runs the filter selects, newest first, frozen now. At most REPLAY_BATCH_CONCURRENCY replay runs of the batch are active at once; the others wait their turn, so a batch never fills the queue ahead of other runs.
         */
        post: operations["createReplayBatch"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/replays/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Read a replay batch: status and counts by verdict. */
        get: operations["getReplayBatch"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/replays/{id}/cancel": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Cancel a running batch: pending items never start, active replay runs are cancelled. */
        post: operations["cancelReplayBatch"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/replays/{id}/items": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A batch's items in its order (newest original first), filtered by verdict. */
        get: operations["listReplayBatchItems"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/runs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List runs, newest first (cursor pagination). */
        get: operations["listRuns"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/runs/{runId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Read a run. */
        get: operations["getRun"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/runs/{runId}/cancel": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Cancel a queued, running, retry or waiting run (a running step may finish; no further step starts). */
        post: operations["cancelRun"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/runs/{runId}/replay": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Replay a finished run step by step (execute | skip | check per step). */
        post: operations["replayRun"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/runs/{runId}/signals/{name}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Send a signal to a run (any JSON body: the payload, the output of the run's `wait` step for this name).
         * @description Kept with the run, one per name: the same payload again -> 202 (no change), another -> 409 signal-already-sent. A signal sent before the run reaches its wait step is consumed when it gets there. A waiting run is queued again at once.
         */
        post: operations["sendSignal"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/runs/{runId}/trace": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The run's steps as executed (pending steps included). */
        get: operations["getRunTrace"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/secrets": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The tenant's secrets: names and dates, never values. */
        get: operations["listSecrets"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/secrets/{name}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** Create or replace a secret (stored encrypted; the value is never returned). */
        put: operations["putSecret"];
        post?: never;
        /** Delete a secret. Runs whose later steps name it fail those steps with secret_missing. */
        delete: operations["deleteSecret"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        ComparisonSchema: {
            /** @description RFC 6901 pointers left out of this step's comparison: the replay's ignore_paths, (unless strict) the skill's volatile paths, and paths the skill no longer records, that held a value in either output. */
            ignored_paths: string[];
            /**
             * @description The comparator applied (compare["<index>"], else compare["*"], else exact).
             * @enum {string}
             */
            mode: "exact" | "numeric" | "text" | "schema" | "judge";
            /** @description Whether the new output passed; `mismatch` is set exactly when it did not. */
            passed: boolean;
            /** @description Why the comparison did not pass (numeric, text, schema), or the judge's reason; null otherwise. */
            reason: string | null;
            /** @description `text`: the lowest normalised Levenshtein similarity over the compared strings; null for other modes. */
            score: number | null;
        };
        CreatedApiKeySchema: {
            /** @description Shown once; stored only as a hash. */
            api_key: string;
            /** Format: date-time */
            created_at: string;
            /** Format: uuid */
            id: string;
        };
        CreatedTenantSchema: {
            /** @description Shown once; stored only as a hash. */
            api_key: string;
            /** Format: date-time */
            created_at: string;
            /** Format: uuid */
            id: string;
            name: string;
        };
        CreateReplayBatchDto: {
            /** @description Default: the 100 newest finished runs of the tenant. */
            filter?: components["schemas"]["ReplayBatchFilterDto"];
            /** @description Replay options of every run: the body of POST /v1/runs/{id}/replay, validated the same way. Step indexes and from_step are checked per run: a run they do not fit is an item with verdict failed and the reason. */
            replay?: components["schemas"]["ReplayRunDto"];
        };
        CreateRunDto: {
            /**
             * @example {
             *       "order_id": 42
             *     }
             */
            input?: {
                [key: string]: unknown;
            };
            /**
             * @example {
             *       "source": "checkout"
             *     }
             */
            metadata?: {
                [key: string]: unknown;
            };
            /** @description 1 to MAX_STEPS (default 100) steps, run in order. */
            steps: components["schemas"]["StepDto"][];
        };
        CreateTenantDto: {
            /** @example acme */
            name: string;
        };
        HealthSchema: {
            /** @description Every check by name. */
            details: {
                [key: string]: unknown;
            };
            /** @description Checks that are down. */
            error?: {
                [key: string]: unknown;
            };
            /** @description Checks that are up. */
            info?: {
                [key: string]: unknown;
            };
            /** @enum {string} */
            status: "ok" | "error";
        };
        JsonPatchOperationSchema: {
            /** @description Source pointer of move and copy. */
            from?: string;
            /** @enum {string} */
            op: "add" | "remove" | "replace" | "move" | "copy" | "test";
            /** @description RFC 6901 JSON Pointer. */
            path: string;
            /** @description New value of add, replace and test. */
            value?: ({
                [key: string]: unknown;
            } | null) | unknown[] | string | number | boolean;
        };
        ProblemSchema: {
            detail: string;
            errors?: {
                field?: string;
                message?: string;
            }[];
            instance?: string;
            /** @description The X-Request-Id of the request. */
            request_id?: string;
            /** @example 422 */
            status: number;
            title: string;
            /** @example idempotency-key-reused */
            type: string;
        };
        PutSecretDto: {
            /** @description The secret value (1 to 8192 characters). Stored encrypted (AES-256-GCM); never returned, logged or recorded. */
            value: string;
        };
        ReplayBatchCountsSchema: {
            cancelled: number;
            /** @description Replay runs that failed for another reason than a mismatch, and runs the options do not fit. */
            failed: number;
            match: number;
            mismatch: number;
            /** @description Items not started yet, or whose replay run is still active. */
            pending: number;
        };
        ReplayBatchFilterDto: {
            /** @example support-bot */
            agent_id?: string;
            /**
             * Format: date-time
             * @description Only runs created after this time (exclusive).
             */
            created_after?: string;
            /**
             * Format: date-time
             * @description Only runs created before this time (exclusive).
             */
            created_before?: string;
            /**
             * @description Most runs in the batch.
             * @default 100
             */
            limit?: number;
            /** @description Only these runs (at most `limit` of them). Replay runs are left out unless named here; ids of runs that are not finished, or not the tenant's, select nothing. */
            run_ids?: string[];
            /**
             * @description Statuses of the runs to replay: the finished runs a replay accepts (succeeded, failed). Default: both.
             * @default [
             *       "succeeded",
             *       "failed"
             *     ]
             */
            status?: ("succeeded" | "failed")[];
        };
        ReplayBatchFilterSchema: {
            agent_id?: string;
            /** Format: date-time */
            created_after?: string;
            /** Format: date-time */
            created_before?: string;
            limit: number;
            run_ids?: string[];
            status: ("succeeded" | "failed")[];
        };
        ReplayBatchItemPageSchema: {
            data: components["schemas"]["ReplayBatchItemSchema"][];
            next_cursor: string | null;
        };
        ReplayBatchItemSchema: {
            /** @description Index of the replay's first mismatching step. */
            first_mismatch_step: number | null;
            /** @description Why the item failed or was cancelled. */
            reason: string | null;
            /**
             * Format: uuid
             * @description Its replay run, once started.
             */
            replay_run_id: string | null;
            /**
             * Format: uuid
             * @description The original run.
             */
            run_id: string;
            /**
             * @description The replay run's status; without one (not started yet, options that do not fit the run, or purged by RUN_RETENTION_DAYS), the item's verdict.
             * @enum {string}
             */
            status: "queued" | "running" | "retry" | "waiting" | "succeeded" | "failed" | "cancelled" | "pending" | "match" | "mismatch";
            /** @enum {string} */
            verdict: "match" | "mismatch" | "failed" | "pending" | "cancelled";
        };
        ReplayBatchPageSchema: {
            data: components["schemas"]["ReplayBatchSchema"][];
            next_cursor: string | null;
        };
        ReplayBatchSchema: {
            /** @description Items by verdict; they add up to total. */
            counts: components["schemas"]["ReplayBatchCountsSchema"];
            /** Format: date-time */
            created_at: string;
            /** @description The filter, defaults applied. */
            filter: components["schemas"]["ReplayBatchFilterSchema"];
            /** Format: date-time */
            finished_at: string | null;
            /** Format: uuid */
            id: string;
            /** @description The replay options as sent. */
            replay: components["schemas"]["ReplayRunDto"];
            /** @enum {string} */
            status: "running" | "completed" | "cancelled";
            /** @description Runs the filter selected (frozen when the batch was created). */
            total: number;
        };
        ReplayMismatchSchema: {
            /** @description Hash of the whole new output. */
            actual_hash: string;
            /** @description RFC 6902 JSON Patch from the original output to the new one (ignore_paths and the skill's volatile paths removed). */
            diff: components["schemas"]["JsonPatchOperationSchema"][];
            /** @description Hash of the whole original output. */
            expected_hash: string | null;
            step_index: number;
        };
        ReplayReportSchema: {
            mismatches: components["schemas"]["ReplayMismatchSchema"][];
            summary: components["schemas"]["ReplaySummarySchema"];
            /** @enum {string} */
            verdict: "match" | "mismatch";
        };
        ReplayRunDto: {
            /**
             * @example {
             *       "2": "check"
             *     }
             */
            behaviors?: {
                [key: string]: "execute" | "skip" | "check";
            };
            /**
             * @description How each `check` step is compared: compare["<index>"], else compare["*"], else exact. Modes: exact, numeric, text, schema, judge. Unknown mode, option, index or a bad pointer or threshold: 400.
             * @example {
             *       "2": {
             *         "mode": "text",
             *         "min_similarity": 0.8,
             *         "paths": [
             *           "/content"
             *         ]
             *       },
             *       "*": {
             *         "mode": "exact"
             *       }
             *     }
             */
            compare?: {
                [key: string]: {
                    /** @enum {string} */
                    mode: "exact";
                } | {
                    abs?: number;
                    /** @enum {string} */
                    mode: "numeric";
                    rel?: number;
                } | {
                    min_similarity: number;
                    /** @enum {string} */
                    mode: "text";
                    paths?: string[];
                } | {
                    /** @enum {string} */
                    mode: "schema";
                } | {
                    /** @enum {string} */
                    mode: "judge";
                    model: string;
                    rubric: string;
                };
            };
            /**
             * @description Behavior of steps that `behaviors` does not name; else each step's recorded replay_behavior.
             * @enum {string}
             */
            default_behavior?: "execute" | "skip" | "check";
            /** @description Steps before this index behave as skip (fork from a step). */
            from_step?: number;
            /**
             * @description RFC 6901 pointers removed from both outputs before a check compares them.
             * @example [
             *       "/headers/date",
             *       "/body/generated_at"
             *     ]
             */
            ignore_paths?: string[];
            /**
             * @description What-if: replaces the original run's input for this replay (`$ref`s to /input/... see it). The replay run's `input` shows it.
             * @example {
             *       "order": 43
             *     }
             */
            input?: {
                [key: string]: unknown;
            };
            /**
             * @default fail
             * @enum {string}
             */
            on_mismatch?: "fail" | "continue";
            /**
             * @description What-if: by step index, a merge patch of the step's params and/or a new idempotency_key. An overridden step is never skipped: behaviors[i] = skip for it, or a from_step past it, is a 400; under default_behavior skip (or a recorded skip) it executes. Under check it is compared with the original output.
             * @example {
             *       "2": {
             *         "params": {
             *           "model": "gpt-4.1-mini"
             *         }
             *       }
             *     }
             */
            overrides?: {
                [key: string]: components["schemas"]["ReplayStepOverrideSchema"];
            };
            /**
             * @description true: `check` also compares the skills' volatile output paths (http.request: /headers/date, /headers/age, ...), which it ignores otherwise.
             * @default false
             */
            strict?: boolean;
        };
        ReplayStepOverrideSchema: {
            /**
             * @description Replaces the step's idempotency key (1 to 255 printable ASCII); null removes it. Patched params under the original key fail with idempotency_violation: the key still protects its side effect.
             * @example order-43-charge
             */
            idempotency_key?: string | null;
            /**
             * @description An RFC 7396 JSON Merge Patch of the step's params as written in the original plan: a member replaces, null removes, arrays are replaced whole; `$ref` and `$secret` the patch does not touch stay. The patched params are checked as on create.
             * @example {
             *       "model": "gpt-4.1-mini"
             *     }
             */
            params?: {
                [key: string]: unknown;
            };
        };
        ReplaySummarySchema: {
            checked: number;
            executed: number;
            from_cache: number;
            mismatches: number;
            skipped: number;
        };
        RunErrorSchema: {
            message: string;
            step_index?: number;
            /**
             * @description `step_failed`: a step failed (its trace entry tells why); `replay_mismatch`: a replayed `check` step produced another output than the original run; `idempotency_violation`: a step idempotency key was reused by a step with another skill or other params; `signal_timeout`: a step waited for a signal longer than its timeout; `secret_missing`: a secret the step uses no longer exists; `cancelled`: the run was cancelled; `attempts_exhausted`: the run was taken too many times without finishing (worker crashes); `internal_error`: an unexpected error of the service (retried while attempts are left)
             * @example step_failed
             */
            type: string;
        };
        RunPageSchema: {
            data: components["schemas"]["RunSchema"][];
            next_cursor: string | null;
        };
        RunSchema: {
            agent_id: string;
            attempts: number;
            /** Format: date-time */
            created_at: string;
            error: components["schemas"]["RunErrorSchema"] | null;
            /** Format: date-time */
            finished_at: string | null;
            /** Format: uuid */
            id: string;
            idempotency_key: string | null;
            input: {
                [key: string]: unknown;
            };
            metadata: {
                [key: string]: unknown;
            };
            /** @description Output of the last step, or null. */
            output: ({
                [key: string]: unknown;
            } | null) | unknown[] | string | number | boolean;
            /** @description The replay report of a finished replay run: when it succeeded, or failed having found a mismatch (verdict mismatch). Null otherwise: not a replay, not finished, or failed for another reason before any mismatch (no verdict; see status and error). */
            replay: components["schemas"]["ReplayReportSchema"] | null;
            /** Format: uuid */
            replay_of: string | null;
            /** Format: date-time */
            started_at: string | null;
            /** @enum {string} */
            status: "queued" | "running" | "retry" | "waiting" | "succeeded" | "failed" | "cancelled";
            /** @description Token usage summed over the executed steps; null when none reports usage. */
            usage: components["schemas"]["UsageSchema"] | null;
            /** @description What a `waiting` run waits for (present only while it waits). */
            waiting_for?: components["schemas"]["WaitingForSchema"];
        };
        SecretListSchema: {
            /** @description Sorted by name. Values are never returned. */
            data: components["schemas"]["SecretSummarySchema"][];
        };
        SecretSummarySchema: {
            /** Format: date-time */
            created_at: string;
            /** @example stripe-live */
            name: string;
            /** Format: date-time */
            updated_at: string;
        };
        SignalSchema: {
            /** Format: date-time */
            received_at: string;
            /** Format: uuid */
            run_id: string;
            signal: string;
        };
        StepDto: {
            /**
             * @description Step idempotency key: the side effect happens at most once per tenant and key (STEP_IDEMPOTENCY_TTL_SECONDS).
             * @example order-42-charge
             */
            idempotency_key?: string;
            /**
             * @description Default: the skill's name.
             * @example fetch-order
             */
            name?: string;
            /**
             * @description Skill params. Any { "$ref": "<JSON Pointer>" } is replaced before the step runs by the value at that pointer in { input, steps: [{ output }] } (earlier steps only).
             * @example {
             *       "url": "https://api.example.com/orders/42",
             *       "method": "GET"
             *     }
             */
            params?: {
                [key: string]: unknown;
            };
            /**
             * @description Behavior of this step when the run is replayed and the replay names none.
             * @default execute
             * @enum {string}
             */
            replay_behavior?: "execute" | "skip" | "check";
            /**
             * @description A registered skill: http.request, transform, llm.chat, delay, or a custom one.
             * @example http.request
             */
            skill: string;
        };
        StepErrorSchema: {
            message: string;
            /** @example step_failed */
            type: string;
        };
        StepMismatchSchema: {
            /** @description Hash of the whole new output. */
            actual_hash: string;
            /** @description RFC 6902 JSON Patch from the original output to the new one (ignore_paths and the skill's volatile paths removed). */
            diff: components["schemas"]["JsonPatchOperationSchema"][];
            /** @description Hash of the whole original output. */
            expected_hash: string | null;
        };
        StepSchema: {
            attempts: number;
            checked: boolean;
            /** @description How a checked step of a replay was compared; null for steps that were not checked. */
            comparison: components["schemas"]["ComparisonSchema"] | null;
            duration_ms: number | null;
            error: components["schemas"]["StepErrorSchema"] | null;
            executed: boolean;
            expected_hash: string | null;
            /** Format: date-time */
            finished_at: string | null;
            from_cache: boolean;
            idempotency_key: string | null;
            index: number;
            mismatch: components["schemas"]["StepMismatchSchema"] | null;
            name: string;
            output: ({
                [key: string]: unknown;
            } | null) | unknown[] | string | number | boolean;
            /** @description SHA-256 of the RFC 8785 canonical JSON of output. */
            output_hash: string | null;
            /** @description Params as resolved for this execution ($ref replaced; a $secret reads "[secret:<name>]"; credential headers and query parameters read "[redacted]"). */
            params: {
                [key: string]: unknown;
            };
            /** @enum {string} */
            replay_behavior: "execute" | "skip" | "check";
            skill: string;
            skipped: boolean;
            /** Format: date-time */
            started_at: string | null;
            /** @enum {string} */
            status: "pending" | "running" | "succeeded" | "failed" | "cancelled";
            /** @description Token usage of this execution (llm.chat); null for other skills, skipped and cached steps. */
            usage: components["schemas"]["UsageSchema"] | null;
        };
        TraceSchema: {
            /** Format: uuid */
            replay_of: string | null;
            /** Format: uuid */
            run_id: string;
            steps: components["schemas"]["StepSchema"][];
        };
        UsageSchema: {
            completion_tokens: number;
            prompt_tokens: number;
            total_tokens: number;
        };
        WaitingForSchema: {
            signal: string;
            step_index: number;
            /**
             * Format: date-time
             * @description Past this time the wait step fails (signal_timeout).
             */
            until: string;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    revokeApiKey: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                keyId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Revoked (also when it already was): every API process refuses the key from now on (each confirmed it). */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Missing or wrong ADMIN_TOKEN. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description ADMIN_TOKEN is not set, or the tenant/key does not exist. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description PostgreSQL is unavailable, or revocation-unconfirmed: revoked, but not every API process confirmed it in time; retry (Retry-After). */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
        };
    };
    createTenant: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateTenantDto"];
            };
        };
        responses: {
            /** @description The tenant and its first API key. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CreatedTenantSchema"];
                };
            };
            /** @description Invalid or malformed body. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description Missing or wrong ADMIN_TOKEN. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description ADMIN_TOKEN is not set, or the tenant/key does not exist. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description The body exceeds MAX_BODY_BYTES. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description PostgreSQL is unavailable (Retry-After). */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
        };
    };
    createApiKey: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                tenantId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The new API key. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CreatedApiKeySchema"];
                };
            };
            /** @description Missing or wrong ADMIN_TOKEN. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description ADMIN_TOKEN is not set, or the tenant/key does not exist. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description PostgreSQL is unavailable (Retry-After). */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
        };
    };
    getLiveness: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The process is up. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HealthSchema"];
                };
            };
        };
    };
    getReadiness: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Every dependency answers. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HealthSchema"];
                };
            };
            /** @description A dependency does not answer (see `error`). */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HealthSchema"];
                };
            };
        };
    };
    createRun: {
        parameters: {
            query?: never;
            header?: {
                /** @description 1 to 255 printable ASCII characters (required when IDEMPOTENCY_KEY_REQUIRED=true). Same key + same body: the same run, Idempotent-Replayed: true. Another body: 422. */
                "Idempotency-Key"?: string;
            };
            path: {
                /** @description ^[A-Za-z0-9._-]{1,128}$ */
                agentId: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateRunDto"];
            };
        };
        responses: {
            /** @description The run (new, or the existing one with Idempotent-Replayed: true). Location: /v1/runs/{id}. */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RunSchema"];
                };
            };
            /** @description Invalid body, agent id, Idempotency-Key, skill, params or $ref. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description Missing, unknown or revoked API key. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description idempotency-request-in-progress (Retry-After). */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description The body exceeds MAX_BODY_BYTES. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description idempotency-key-reused: the key was used with another body. */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description Rate limit of the tenant exceeded (Retry-After). */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description PostgreSQL or Redis is unavailable (Retry-After). */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
        };
    };
    listReplayBatches: {
        parameters: {
            query?: {
                /** @description Opaque cursor: next_cursor of the previous page. */
                cursor?: string;
                limit?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of batches and the cursor of the next one. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ReplayBatchPageSchema"];
                };
            };
            /** @description Invalid limit or cursor. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description Missing, unknown or revoked API key. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description Rate limit of the tenant exceeded (Retry-After). */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description PostgreSQL or Redis is unavailable (Retry-After). */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
        };
    };
    createReplayBatch: {
        parameters: {
            query?: never;
            header?: {
                /** @description 1 to 255 printable ASCII characters (required when IDEMPOTENCY_KEY_REQUIRED=true); scope: tenant + key. Same key + same body: the same batch, Idempotent-Replayed: true. Another body: 422. */
                "Idempotency-Key"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["CreateReplayBatchDto"];
            };
        };
        responses: {
            /** @description The batch (no match: total 0, completed). Location: /v1/replays/{id}. */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ReplayBatchSchema"];
                };
            };
            /** @description Invalid filter or replay options (field errors), or Idempotency-Key. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description Missing, unknown or revoked API key. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description idempotency-request-in-progress (Retry-After). */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description The body exceeds MAX_BODY_BYTES. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description idempotency-key-reused: the key was used with another body. */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description Rate limit of the tenant exceeded (Retry-After). */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description PostgreSQL or Redis is unavailable (Retry-After). */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
        };
    };
    getReplayBatch: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The batch. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ReplayBatchSchema"];
                };
            };
            /** @description Missing, unknown or revoked API key. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description No replay batch of this tenant has this id. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description Rate limit of the tenant exceeded (Retry-After). */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description PostgreSQL or Redis is unavailable (Retry-After). */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
        };
    };
    cancelReplayBatch: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The cancelled batch. */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ReplayBatchSchema"];
                };
            };
            /** @description Missing, unknown or revoked API key. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description No replay batch of this tenant has this id. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description replay-batch-finished: the batch is completed or cancelled. */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description Rate limit of the tenant exceeded (Retry-After). */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description PostgreSQL or Redis is unavailable (Retry-After). */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
        };
    };
    listReplayBatchItems: {
        parameters: {
            query?: {
                /** @description Opaque cursor: next_cursor of the previous page. */
                cursor?: string;
                limit?: number;
                /** @description pending: not started yet, or its replay run is still active. */
                verdict?: "match" | "mismatch" | "failed" | "pending" | "cancelled";
            };
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of items and the cursor of the next one. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ReplayBatchItemPageSchema"];
                };
            };
            /** @description Invalid verdict, limit or cursor. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description Missing, unknown or revoked API key. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description No replay batch of this tenant has this id. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description Rate limit of the tenant exceeded (Retry-After). */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description PostgreSQL or Redis is unavailable (Retry-After). */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
        };
    };
    listRuns: {
        parameters: {
            query?: {
                agent_id?: string;
                /** @description Opaque cursor: next_cursor of the previous page. */
                cursor?: string;
                limit?: number;
                status?: "queued" | "running" | "retry" | "waiting" | "succeeded" | "failed" | "cancelled";
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of runs and the cursor of the next one. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RunPageSchema"];
                };
            };
            /** @description Invalid filter, limit or cursor. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description Missing, unknown or revoked API key. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description Rate limit of the tenant exceeded (Retry-After). */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description PostgreSQL or Redis is unavailable (Retry-After). */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
        };
    };
    getRun: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                runId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The run. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RunSchema"];
                };
            };
            /** @description Missing, unknown or revoked API key. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description No run of this tenant has this id. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description Rate limit of the tenant exceeded (Retry-After). */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description PostgreSQL or Redis is unavailable (Retry-After). */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
        };
    };
    cancelRun: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                runId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The cancelled run. */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RunSchema"];
                };
            };
            /** @description Missing, unknown or revoked API key. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description No run of this tenant has this id. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description The run is finished. */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description Rate limit of the tenant exceeded (Retry-After). */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description PostgreSQL or Redis is unavailable (Retry-After). */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
        };
    };
    replayRun: {
        parameters: {
            query?: never;
            header?: {
                /** @description 1 to 255 printable ASCII characters (required when IDEMPOTENCY_KEY_REQUIRED=true). Same key + same body: the same run, Idempotent-Replayed: true. Another body: 422. */
                "Idempotency-Key"?: string;
            };
            path: {
                runId: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["ReplayRunDto"];
            };
        };
        responses: {
            /** @description The replay run (replay_of = the original). */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RunSchema"];
                };
            };
            /** @description Unknown behavior, step index or from_step out of range; an input that is not an object; an override of an unknown step, with unknown fields, a patch that is not an object or patched params that are invalid for the skill (errors named overrides.<index>.params...); skip for an overridden step; an unknown compare mode or option, a bad pointer or a threshold outside 0..1. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description Missing, unknown or revoked API key. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description No run of this tenant has this id. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description The original run is not finished, or idempotency-request-in-progress (Retry-After). */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description The body exceeds MAX_BODY_BYTES. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description idempotency-key-reused: the key was used with another body. */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description Rate limit of the tenant exceeded (Retry-After). */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description PostgreSQL or Redis is unavailable (Retry-After). */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
        };
    };
    sendSignal: {
        parameters: {
            query?: never;
            header?: {
                /** @description 1 to 255 printable ASCII characters. Same key + same signal: 202, Idempotent-Replayed: true. Another name or payload: 422. */
                "Idempotency-Key"?: string;
            };
            path: {
                /** @description ^[A-Za-z0-9_.-]{1,64}$ */
                name: string;
                runId: string;
            };
            cookie?: never;
        };
        /** @description Any JSON value (the payload); no body: null. */
        requestBody?: {
            content: {
                "application/json": unknown;
            };
        };
        responses: {
            /** @description The signal as stored. */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SignalSchema"];
                };
            };
            /** @description Invalid signal name, Idempotency-Key or JSON body. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description Missing, unknown or revoked API key. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description No run of this tenant has this id. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description signal-already-sent (another payload under this name), or run-finished (a new signal to a finished run). */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description The body exceeds MAX_BODY_BYTES. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description The body is not JSON. */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description idempotency-key-reused: the key was used for another signal. */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description Rate limit of the tenant exceeded (Retry-After). */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description PostgreSQL or Redis is unavailable (Retry-After). */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
        };
    };
    getRunTrace: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                runId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The run's trace. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TraceSchema"];
                };
            };
            /** @description Missing, unknown or revoked API key. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description No run of this tenant has this id. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description Rate limit of the tenant exceeded (Retry-After). */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description PostgreSQL or Redis is unavailable (Retry-After). */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
        };
    };
    listSecrets: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SecretListSchema"];
                };
            };
            /** @description Missing, unknown or revoked API key. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description Rate limit of the tenant exceeded (Retry-After). */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description secrets-disabled: SECRETS_KEY is not set (production mode); or PostgreSQL is unavailable (Retry-After). */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
        };
    };
    putSecret: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description ^[A-Za-z0-9_.-]{1,128}$ */
                name: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["PutSecretDto"];
            };
        };
        responses: {
            /** @description Created or replaced. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Invalid name or value. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description Missing, unknown or revoked API key. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description The body exceeds MAX_BODY_BYTES. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description Rate limit of the tenant exceeded (Retry-After). */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description secrets-disabled: SECRETS_KEY is not set (production mode); or PostgreSQL is unavailable (Retry-After). */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
        };
    };
    deleteSecret: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description ^[A-Za-z0-9_.-]{1,128}$ */
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Missing, unknown or revoked API key. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description The tenant has no secret of that name. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description Rate limit of the tenant exceeded (Retry-After). */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
            /** @description secrets-disabled: SECRETS_KEY is not set (production mode); or PostgreSQL is unavailable (Retry-After). */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemSchema"];
                };
            };
        };
    };
}
