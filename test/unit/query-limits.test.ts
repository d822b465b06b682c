import 'reflect-metadata';
import { parse, type GraphQLSchema } from 'graphql';
import { MODULES } from '../../src/modules';
import { buildMedpsimSchema } from '../../src/schema/build';
import { assertQueryLimits, queryDepth } from '../../src/schema/limits';

let schema: GraphQLSchema;
beforeAll(async () => {
  schema = await buildMedpsimSchema(MODULES);
});

function limitError(query: string, variables: Record<string, unknown>, maxDepth: number, maxComplexity: number) {
  try {
    assertQueryLimits(schema, { document: parse(query), variables }, { maxDepth, maxComplexity, maxAliases: 100 });
    return null;
  } catch (error) {
    return (error as { extensions: Record<string, unknown> }).extensions;
  }
}

describe('depth limit', () => {
  const deep = `{ datasets { images { edges { node { dataset { images { edges { node { id } } } } } } } } }`;

  it('counts nested fields, through fragments, without introspection', () => {
    expect(queryDepth(parse(deep))).toBe(9);
    expect(queryDepth(parse(`{ datasets { ...D } } fragment D on Dataset { images { edges { node { id } } } }`))).toBe(5);
    expect(queryDepth(parse(`{ __schema { types { fields { type { ofType { name } } } } } }`))).toBe(0);
    expect(queryDepth(parse(`query A { datasets { id } } query B { datasets { images { edges { cursor } } } }`), 'A')).toBe(2);
  });

  it('rejects a query deeper than the limit with QUERY_TOO_DEEP, accepts it at the limit', () => {
    expect(limitError(deep, {}, 8, 1e9)).toEqual({ code: 'QUERY_TOO_DEEP', depth: 9, maxDepth: 8 });
    expect(limitError(deep, {}, 9, 1e9)).toBeNull();
  });
});

describe('complexity limit', () => {
  it('charges list fields their page size times their children', () => {
    const query = `query ($n: Int!) { dataset(id: "x") { images(first: $n) { edges { node { id width height } } } } }`;
    expect(limitError(query, { n: 10 }, 10, 200)).toBeNull();
    expect(limitError(query, { n: 500 }, 10, 200)).toMatchObject({ code: 'QUERY_TOO_COMPLEX', maxComplexity: 200 });
  });
});

describe('every list counts', () => {
  it('multiplies nested lists by their page sizes (jobs(first: 500) { failures(first: 1000) })', () => {
    expect(limitError(`{ jobs(first: 500) { failures(first: 1000) { item } } }`, {}, 10, 5000)).toMatchObject({ code: 'QUERY_TOO_COMPLEX' });
    expect(limitError(`{ jobs(first: 5) { failures(first: 10) { item } } }`, {}, 10, 5000)).toBeNull();
    // Lists without a page size count as 10 each: the catalog with its parameters fits, ten copies do not.
    const catalog = `distortionCatalog { name params { name min max severity { from to } } }`;
    expect(limitError(`{ ${catalog} }`, {}, 10, 5000)).toBeNull();
    const copies = Array.from({ length: 10 }, (_, i) => `c${i}: ${catalog}`).join(' ');
    expect(limitError(`{ ${copies} }`, {}, 10, 5000)).toMatchObject({ code: 'QUERY_TOO_COMPLEX' });
  });

  it('caps aliases', () => {
    const aliased = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: __typename`).join(' ')} }`;
    expect(limitError(aliased(100), {}, 10, 1e9)).toBeNull();
    expect(limitError(aliased(101), {}, 10, 1e9)).toMatchObject({ code: 'QUERY_TOO_COMPLEX', aliases: 101, maxAliases: 100 });
  });

  it('fails closed: a query whose cost cannot be estimated is refused, not run', () => {
    // Over the estimator's own node limit (parsed without the server's token limit, to get there).
    const huge = `{ ${Array.from({ length: 12_000 }, () => 'datasets { id }').join(' ')} }`;
    expect(limitError(huge, {}, 10, 1e12)).toMatchObject({ code: 'QUERY_TOO_COMPLEX' });
    // Variables that do not fit the operation are the client's mistake.
    expect(limitError(`query ($n: Int!) { jobs(first: $n) { id } }`, { n: 'many' }, 10, 1e9)).toMatchObject({ code: 'BAD_USER_INPUT' });
  });
});
