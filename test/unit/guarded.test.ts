import { HttpRequest, InvocationContext } from '@azure/functions';
import { CertbotError } from '../../src/domain/errors';
import { guarded } from '../../src/http/guarded';

describe('HTTP endpoints when a dependency fails', () => {
  const request = new HttpRequest({ method: 'POST', url: 'http://localhost/api/x' });

  it('answer 503 with a retry hint, keep the detail in the log only', async () => {
    const logged: string[] = [];
    const context = new InvocationContext({ functionName: 'Starter', logHandler: (_level, ...args) => logged.push(args.join(' ')) });
    const response = await guarded(async () => {
      throw new CertbotError('InternalError', 'status API said: https://host/x?code=SECRET', undefined, true);
    }, { access: 'write' })(request, context);
    expect(response.status).toBe(503);
    expect(response.headers).toMatchObject({ 'Retry-After': '10' });
    expect(JSON.stringify(response.jsonBody)).not.toContain('SECRET');
    expect(response.jsonBody).toMatchObject({ status: 503, title: 'Temporarily unavailable' });
    expect(logged.join('\n')).toContain('Starter failed: InternalError');
  });

  it('pass answers through untouched', async () => {
    const context = new InvocationContext({ functionName: 'Starter' });
    expect(await guarded(async () => ({ status: 202, jsonBody: { id: 'x' } }), { access: 'write' })(request, context)).toEqual({ status: 202, jsonBody: { id: 'x' } });
  });
});
