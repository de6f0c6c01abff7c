import { HttpsBinding, HttpsRemoval } from '../domain/gatewayPlan';
import { activity } from './context';

/** ConfigureApplicationGatewayStep: SSL certificate, HTTPS listener and rule in one write (or none). */
export const configureGateway = activity<{ bindings: HttpsBinding[]; removals?: HttpsRemoval[] }, { written: boolean }>(
  async ({ bindings, removals }, { gateway }) => ({ written: await gateway.applyBindings(bindings, removals ?? []) }),
);
