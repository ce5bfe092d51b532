import type { Page } from 'playwright-core';
import { accessibilityViolations, type BrowserSession, launchBrowser, screenshotFolder } from './support/browser.js';
import { type SideEffectServer, startSideEffectServer } from './support/side-effect-server.js';
import { createTenant, createTestEnvironment, startTestApp, type TestApp, type TestEnvironment, waitFor } from './support/test-app.js';
import { spawnWorker, type WorkerProcess } from './support/worker-process.js';

/**
 * The web console in Debian's Chromium (playwright-core), against the real service: the API process
 * (serving /console) and a worker process on real PostgreSQL and Redis. Each test continues where the
 * previous one left the page, as a person would.
 */
describe('web console at /console (Chromium, real service, worker process)', () => {
  let server: SideEffectServer;
  let env: TestEnvironment;
  let t: TestApp;
  let worker: WorkerProcess;
  let browser: BrowserSession;
  let page: Page;
  let base: string;
  let apiKey: string;
  let auth: string;
  const shots = screenshotFolder();
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    server = await startSideEffectServer();
    env = await createTestEnvironment({
      SKILL_HTTP_ALLOWED_HOSTS: `127.0.0.1:${server.port}`,
      WORKER_ENABLED: 'false',
      LLM_BASE_URL: `${server.url}/v1`,
    });
    t = await startTestApp(env.env);
    await t.app.listen(0, '127.0.0.1');
    base = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
    worker = await spawnWorker(env.env);
    ({ apiKey, auth } = await createTenant(t, 'console-tenant'));
    browser = await launchBrowser();
    page = browser.page;
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await worker?.kill('SIGKILL');
    await t?.close();
    await server?.close();
    await env?.dispose();
    shots.publish();
  }, 60_000);

  const api = {
    submit: async (agent: string, steps: unknown[], input: object = {}) =>
      (await t.http.post(`/v1/agents/${agent}/runs`).set('Authorization', auth).send({ input, steps }).expect(202)).body as { id: string },
    run: async (id: string) => (await t.http.get(`/v1/runs/${id}`).set('Authorization', auth).expect(200)).body,
    trace: async (id: string) => (await t.http.get(`/v1/runs/${id}/trace`).set('Authorization', auth).expect(200)).body,
  };
  const expectAccessible = async () => expect(await accessibilityViolations(page)).toEqual([]);
  const noHorizontalScroll = () => page.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth + 1');

  it('serves the console page and its assets with a strict CSP, no credentials needed', async () => {
    const html = await t.http.get('/console').expect(200);
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    expect(html.headers['content-security-policy']).toContain("script-src 'self'");
    expect(html.headers['content-security-policy']).toContain("form-action 'none'");
    expect(html.headers['referrer-policy']).toBe('no-referrer');
    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html.text)?.[1];
    expect(script).toBeDefined();
    const asset = await t.http.get(script!).expect(200);
    expect(asset.headers['content-type']).toMatch(/javascript/);
    expect(asset.headers['cache-control']).toContain('immutable');
    await t.http.get('/console/').expect(200);
    const missing = await t.http.get('/console/assets/nothing-here.js').expect(404);
    expect(missing.headers['content-type']).toMatch(/application\/problem\+json/);
  }, 60_000);

  it('refuses a wrong API key with a message that says so', async () => {
    await page.goto(`${base}/console`);
    await page.getByLabel('Tenant API key').fill('ak_not-a-real-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('This API key was not accepted');
    await page.getByLabel('Tenant API key').fill('');
    await page.screenshot({ path: shots.path('sign-in.png') });
    await expectAccessible();
  }, 60_000);

  it('signs in, keeps the key in sessionStorage only, and shows a new run appear, run and finish', async () => {
    await page.getByLabel('Tenant API key').fill(apiKey);
    await page.getByLabel('Tenant API key').press('Enter'); // keyboard submits the form
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
    await page.getByText('No runs yet for this tenant.').waitFor(); // the empty state says how to submit one
    expect(await page.evaluate<string[]>('Object.values(sessionStorage)')).toContain(apiKey);
    expect(await page.evaluate<string[]>('Object.values(localStorage)')).not.toContain(apiKey);

    const run = await api.submit(
      'support-bot',
      [
        { name: 'fetch-order', skill: 'http.request', params: { url: `${server.url}/changing` } },
        { name: 'think', skill: 'delay', params: { ms: 5000 } },
        { name: 'summarise', skill: 'transform', params: { expression: "steps[0].output.body.stable & '-' & input.order" } },
      ],
      { order: 42 },
    );
    ids.original = run.id;
    const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: `Run ${run.id}` }) });
    await row.waitFor({ timeout: 15_000 }); // the list refreshes by itself
    await row.getByText('running').waitFor({ timeout: 15_000 });
    await row.getByText('succeeded').waitFor({ timeout: 30_000 });
    await page.screenshot({ path: shots.path('runs.png') });
    await expectAccessible();
  }, 60_000);

  it('filters by agent and status and pages with cursors', async () => {
    for (let i = 0; i < 21; i++) await api.submit('pager', [{ name: 'double', skill: 'transform', params: { expression: `${i} * 2` } }]);
    await waitFor(async () => {
      const done = await t.http.get('/v1/runs?agent_id=pager&status=succeeded&limit=100').set('Authorization', auth).expect(200);
      return done.body.data.length === 21 ? true : undefined;
    });
    await page.getByLabel('Agent').fill('pager');
    await page.getByLabel('Status').selectOption('succeeded');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/#\/runs\?agent_id=pager&status=succeeded$/);
    const runLinks = page.getByRole('table').getByRole('link', { name: /^Run / });
    await waitFor(async () => ((await runLinks.count()) === 20 ? true : undefined));
    await page.getByRole('link', { name: 'Older →' }).click();
    await waitFor(async () => ((await runLinks.count()) === 1 ? true : undefined));
    expect(page.url()).toContain('cursor=');
    await page.getByRole('link', { name: '← Newer' }).click();
    await waitFor(async () => ((await runLinks.count()) === 20 ? true : undefined));
    await page.getByLabel('Status').selectOption('failed');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText('No runs match these filters.').waitFor();
    await page.getByRole('link', { name: 'Clear filters' }).first().click();
    await page.waitForURL(/#\/runs$/);
  }, 60_000);

  it('opens a run by keyboard: header, step waterfall, step panel with params and output', async () => {
    await page.goto(`${base}/console#/runs?agent_id=support-bot`); // a deep link with a filter
    const link = page.getByRole('link', { name: `Run ${ids.original}` });
    await link.focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /Run/ }).first().waitFor();
    expect(page.url()).toBe(`${base}/console#/runs/${ids.original}`);
    const timeline = page.getByRole('region', { name: 'Timeline' });
    await timeline.getByRole('button', { name: /#2 summarise/ }).waitFor();
    expect(await timeline.getByRole('button').count()).toBe(3);
    expect(await page.getByText('support-bot').first().isVisible()).toBe(true);
    const step0 = timeline.getByRole('button', { name: /#0 fetch-order/ });
    await step0.focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/\?step=0$/);
    expect(await step0.getAttribute('aria-pressed')).toBe('true');
    const panel = page.getByRole('region', { name: /Step #0 fetch-order/ });
    await panel.getByText('generated_at').waitFor();
    expect(await panel.getByText(`${server.url}/changing`).count()).toBeGreaterThan(0);
    const trace = await api.trace(ids.original);
    expect(await panel.getByText(trace.steps[0].output_hash).isVisible()).toBe(true);
    await page.screenshot({ path: shots.path('run.png'), fullPage: true });
    await expectAccessible();
  }, 60_000);

  it('cancels a running run from its page', async () => {
    const slow = await api.submit('support-bot', [
      { name: 'long-wait', skill: 'delay', params: { ms: 20_000 } },
      { name: 'never', skill: 'http.request', params: { url: `${server.url}/effect/after-cancel`, method: 'POST' } },
    ]);
    await page.goto(`${base}/console#/runs/${slow.id}`);
    await page.getByRole('heading', { name: /Run/ }).getByText('running').waitFor({ timeout: 20_000 });
    await page.getByRole('button', { name: 'Cancel run' }).click();
    await page.getByRole('heading', { name: /Run/ }).getByText('cancelled').waitFor();
    expect((await api.run(slow.id)).status).toBe('cancelled');
    expect(await page.getByRole('button', { name: 'Cancel run' }).count()).toBe(0);
  }, 60_000);

  it('shows a waiting run: which signal, until when; sending the signal from the page resumes it', async () => {
    const waiting = await api.submit('support-bot', [
      { name: 'approval', skill: 'wait', params: { signal: 'approve', timeout_ms: 600_000 } },
      { name: 'decision', skill: 'transform', params: { expression: 'steps[0].output.approved' } },
    ]);
    await page.goto(`${base}/console#/runs/${waiting.id}`);
    const panel = page.getByRole('region', { name: /Waiting for signal approve at step #0/ });
    await panel.waitFor({ timeout: 20_000 });
    const until = (await api.run(waiting.id)).waiting_for.until as string;
    expect(Date.parse(until)).toBeGreaterThan(Date.now());
    await page.screenshot({ path: shots.path('run-waiting.png'), fullPage: true });
    await expectAccessible();

    const payload = panel.getByLabel('Payload of approve (JSON)');
    await payload.fill('{approved: yes}');
    await panel.getByRole('button', { name: 'Send approve' }).click();
    await panel.getByText('The payload must be JSON').waitFor();
    expect((await api.run(waiting.id)).status).toBe('waiting'); // nothing was sent

    await payload.fill('{"approved": true}');
    await panel.getByRole('button', { name: 'Send approve' }).click();
    await page.getByRole('heading', { name: /Run/ }).getByText('succeeded').waitFor({ timeout: 20_000 });
    expect(await panel.count()).toBe(0);
    const done = await api.run(waiting.id);
    expect(done.output).toBe(true);
    expect((await api.trace(waiting.id)).steps[0].output).toEqual({ approved: true });
  }, 60_000);

  it("shows an llm.chat run's token usage in the header and in the step panel", async () => {
    const chat = await api.submit('support-bot', [
      { name: 'answer', skill: 'llm.chat', params: { model: 'fake-1', messages: [{ role: 'user', content: 'hello there' }] } },
    ]);
    await waitFor(async () => ((await api.run(chat.id)).status === 'succeeded' ? true : undefined), 20_000);
    const usage = (await api.run(chat.id)).usage as { prompt_tokens: number; completion_tokens: number; total_tokens: number };
    expect(usage).toEqual({ prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 });
    await page.goto(`${base}/console#/runs/${chat.id}?step=0`);
    const text = `${usage.total_tokens} tokens (${usage.prompt_tokens} prompt, ${usage.completion_tokens} completion)`;
    await page
      .getByRole('region', { name: /Step #0 answer/ })
      .getByText(text)
      .waitFor();
    expect(await page.getByText(text).count()).toBe(2); // the run header and the step panel
  }, 60_000);

  it('runs a check replay from the page and shows the mismatch diff, ignored paths greyed, first divergence on top', async () => {
    const replays: Array<{ key: string | null }> = [];
    const onRequest = (request: import('playwright-core').Request) => {
      if (request.method() === 'POST' && request.url().endsWith('/replay'))
        replays.push({ key: request.headers()['idempotency-key'] ?? null });
    };
    page.on('request', onRequest);
    await page.goto(`${base}/console#/runs/${ids.original}`);
    await page.getByRole('link', { name: 'Replay…' }).click();
    const form = page.getByRole('form', { name: 'Replay this run' });
    await form.getByLabel('Default behavior').selectOption('check');
    await form.getByLabel('continue and report every one').check();
    await form.getByLabel(/Ignore paths/).fill('/headers/x-generation');
    await form.getByLabel('Behavior of step 1 think').selectOption('skip'); // no need to wait 5 s again
    await page.screenshot({ path: shots.path('replay-form.png'), fullPage: true });
    await expectAccessible();
    await form.getByRole('button', { name: 'Start replay' }).click();
    await page.waitForURL(/#\/runs\/[0-9a-f-]{36}\/diff$/);
    ids.replay = /runs\/([0-9a-f-]{36})\/diff/.exec(page.url())![1];
    page.off('request', onRequest);

    // the page made one replay request, with an Idempotency-Key made by the typed client
    expect(replays).toHaveLength(1);
    expect(replays[0].key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

    const pinned = page.getByRole('article', { name: /First divergence: #0 fetch-order/ });
    await pinned.waitFor({ timeout: 30_000 });
    const replayRun = await waitFor(async () => {
      const r = await api.run(ids.replay);
      return r.status === 'succeeded' || r.status === 'failed' ? r : undefined;
    });
    expect(replayRun).toMatchObject({ replay_of: ids.original, replay: { verdict: 'mismatch' } });
    expect(replayRun.replay.mismatches.map((m: { step_index: number }) => m.step_index)).toEqual([0]);
    // counted: the JSON Patch of the API (generated_at and nonce changed)
    const counted = pinned.getByRole('group', { name: 'Counted differences' });
    expect(await counted.innerText()).toContain('generated_at');
    expect(await counted.innerText()).toContain('nonce');
    expect(await counted.innerText()).not.toContain('x-generation');
    // ignored: the x-generation header differs too, but the replay ignored it: shown apart, greyed
    const ignored = pinned.getByRole('group', { name: 'Ignored differences' });
    expect(await ignored.innerText()).toContain('x-generation');
    const patch = replayRun.replay.mismatches[0].diff as Array<{ path: string }>;
    await pinned.getByText('JSON Patch (RFC 6902)').click();
    for (const op of patch) expect(await pinned.getByRole('table').textContent()).toContain(op.path);
    // step pairs: 0 mismatch, 1 skipped (not compared), 2 checked and matching (the summary text is the same: same-42)
    const pairs = page.getByRole('article').filter({ hasNot: page.getByText('First divergence') });
    await waitFor(async () => ((await pairs.count()) === 3 ? true : undefined));
    await pairs.nth(0).getByText('mismatch', { exact: true }).first().waitFor();
    await pairs.nth(1).getByText('not compared', { exact: true }).waitFor();
    await pairs.nth(2).getByText('match', { exact: true }).waitFor();
    await page.screenshot({ path: shots.path('replay-diff.png'), fullPage: true });
    await expectAccessible();
    await page.getByLabel('Mismatches only').check();
    await page.waitForURL(/only=mismatches$/);
    await waitFor(async () => ((await pairs.count()) === 1 ? true : undefined));
  }, 60_000);

  it('forks a replay from a step: earlier steps are skipped', async () => {
    await page.goto(`${base}/console#/runs/${ids.original}?step=2`);
    await page.getByRole('link', { name: 'Fork from this step' }).click();
    const form = page.getByRole('form', { name: 'Replay this run' });
    await expect(form.getByLabel('Fork from step').inputValue()).resolves.toBe('2');
    expect(await form.getByLabel('Behavior of step 0 fetch-order').isDisabled()).toBe(true);
    await form.getByRole('button', { name: 'Start replay' }).click();
    await page.waitForURL(/\/diff$/);
    const fork = /runs\/([0-9a-f-]{36})\/diff/.exec(page.url())![1];
    const steps = await waitFor(async () => {
      const trace = await api.trace(fork);
      return trace.steps.every((s: { status: string }) => s.status === 'succeeded') ? trace.steps : undefined;
    });
    expect(steps.map((s: { skipped: boolean }) => s.skipped)).toEqual([true, true, false]);
    expect(server.hits('/changing')).toBe(2); // the original and the check replay; the fork skipped it
    await page.getByText('No step diverged').waitFor();
  }, 60_000);

  it('starts a replay batch from its form and follows it to one report: progress, counts, items by verdict, links to diffs', async () => {
    await page.getByRole('link', { name: 'Replay batches' }).click();
    await page.getByRole('heading', { name: 'Replay batches' }).waitFor();
    await page.getByText('No replay batches yet.').waitFor();
    await page.getByRole('link', { name: 'New batch' }).first().click();
    await page.waitForURL(/#\/batches\/new$/);
    await page.getByLabel('Agent').fill('pager'); // the 21 transform runs above: deterministic, so every check matches
    await page.getByLabel('Behavior of every step').selectOption('check');
    await expectAccessible();
    await page.getByRole('button', { name: 'Start batch' }).click();
    await page.waitForURL(/#\/batches\/[0-9a-f-]{36}$/);
    const batchId = /batches\/([0-9a-f-]{36})$/.exec(page.url())![1];
    await page.getByRole('heading', { name: /Batch/ }).getByText('completed').waitFor({ timeout: 30_000 });
    const batch = (await t.http.get(`/v1/replays/${batchId}`).set('Authorization', auth).expect(200)).body;
    expect(batch).toMatchObject({
      status: 'completed',
      total: 21,
      counts: { match: 21, mismatch: 0, failed: 0, pending: 0, cancelled: 0 },
      filter: { agent_id: 'pager' },
      replay: { default_behavior: 'check' },
    });
    await page.getByText('21 of 21 done').waitFor();
    const diffs = page.getByRole('link', { name: /^diff [0-9a-f]+: the replay of run / });
    await waitFor(async () => ((await diffs.count()) === 21 ? true : undefined));
    await page.screenshot({ path: shots.path('batches.png'), fullPage: true });
    await expectAccessible();
    await page.getByLabel('Verdict', { exact: true }).selectOption('mismatch');
    await page.getByText('No mismatch items.').waitFor();
    expect(page.url()).toContain('verdict=mismatch');
    await page.getByRole('link', { name: 'Replay batches' }).first().click();
    await page.getByRole('link', { name: `Batch ${batchId}` }).waitFor();
  }, 60_000);

  it('fits a 390 px wide screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base}/console#/runs?agent_id=support-bot`);
    await page.getByRole('link', { name: `Run ${ids.original}` }).waitFor();
    expect(await noHorizontalScroll()).toBe(true);
    await page.screenshot({ path: shots.path('runs-390.png'), fullPage: true });
    await page.goto(`${base}/console#/runs/${ids.original}?step=0`);
    await page
      .getByRole('region', { name: /Step #0/ })
      .getByText('generated_at')
      .waitFor();
    expect(await noHorizontalScroll()).toBe(true);
    await page.screenshot({ path: shots.path('run-390.png'), fullPage: true });
    await page.goto(`${base}/console#/runs/${ids.replay}/diff`);
    await page.getByRole('article', { name: /First divergence/ }).waitFor();
    expect(await noHorizontalScroll()).toBe(true);
    await page.screenshot({ path: shots.path('replay-diff-390.png'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });
  }, 60_000);

  it('signs out; the key never appeared in a URL or in the console output, and no CSP rule was broken', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Tenant API key').waitFor();
    expect(await page.evaluate<string[]>('Object.values(sessionStorage)')).not.toContain(apiKey);
    expect(browser.urls.length).toBeGreaterThan(20);
    expect(browser.urls.filter((url) => url.includes(apiKey))).toEqual([]);
    expect(browser.consoleLines.filter((line) => line.includes(apiKey))).toEqual([]);
    expect(browser.consoleLines.filter((line) => /Content Security Policy|pageerror/i.test(line))).toEqual([]);
  }, 60_000);
});
