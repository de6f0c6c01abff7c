import { HttpsBinding } from '../domain/gatewayPlan';
import { activity } from './context';

/** ConfigureApplicationGatewayStep: SSL certificate, HTTPS listener and rule in one write (or none). */
export const configureGateway = activity<{ bindings: HttpsBinding[] }, { written: boolean }>(
  async ({ bindings }, { gateway }) => ({ written: await gateway.applyBindings(bindings) }),
);
